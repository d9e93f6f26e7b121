import t from 'tap';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { lastSmsCode } from '../../../test/support/clients.js';
import { CARDS, confirm, create, entered, newClient, pay, paymentBody, paymentsWorld } from './world.js';

// SP-16: after every payment flow, the gateway's database holds no PAN and no CVV: every row of
// every table in the gateway schema is read back whole (row_to_json covers every column, bytea
// as hex), and Redis and the SMS outbox are scanned too.
const { gw } = await paymentsWorld(t);
const CVVS = ['987', '6543'];

t.test('SP-16: no PAN and no CVV anywhere in the gateway after all payment flows', async (t) => {
  const c = await newClient(gw);
  const pans: string[] = [CARDS.frictionless, CARDS.challenge, CARDS.bypassedEnrolled, CARDS.declined, CARDS.foreignVisa, CARDS.unknownBin];
  const first = await pay(gw, c, entered(CARDS.frictionless, { cvv: CVVS[0] }));
  await pay(gw, c, { cardId: first.created.card.id }, {}, CVVS[0]);
  const challenged = await pay(gw, c, entered(CARDS.challenge, { cvv: CVVS[0] }));
  await gw.app.inject({ method: 'GET', url: challenged.confirmed.nextAction.url });
  await gw.app.inject({ method: 'POST', url: `/v1/payments/${challenged.created.id}/3ds`, headers: c.auth, payload: { result: 'pass' } });
  const c2 = await newClient(gw);
  const bypassed = await pay(gw, c2, entered(CARDS.bypassedEnrolled, { cvv: CVVS[0] }));
  await gw.app.inject({ method: 'POST', url: '/v1/disputes', headers: c2.auth, payload: { paymentId: bypassed.created.id, reason: 'lost_card' } });
  await pay(gw, c2, entered(CARDS.declined, { cvv: CVVS[0] }));
  for (const [i, pan] of [CARDS.foreignVisa, CARDS.unknownBin].entries()) {
    await create(gw, c2, paymentBody(entered(pan, { cvv: CVVS[1] })), { 'idempotency-key': `refused-${i}` });
  }
  const held = (await create(gw, c2, paymentBody(entered(CARDS.mastercard, { cvv: CVVS[1], expYear: 2031 })), { 'idempotency-key': 'mc' })).json();
  pans.push(CARDS.mastercard);
  await confirm(gw, c2, held.id, '000000'); // a wrong code leaves the CVV unused in the vault's memory only
  t.ok(await lastSmsCode(gw, c2.phone));

  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'gateway' and table_type = 'BASE TABLE'`.execute(gw.db);
  t.ok(tables.rows.length >= 15, 'every gateway table is scanned');
  const columns = await sql<{ column_name: string }>`
    select column_name from information_schema.columns where table_schema = 'gateway'`.execute(gw.db);
  t.notOk(columns.rows.some((r) => /pan|cvv|cvc|card_number/i.test(r.column_name)), 'no column is meant for a PAN or CVV');

  let rows = 0;
  for (const { table_name } of tables.rows) {
    const dump = await sql<{ row: string }>`select row_to_json(x)::text as row from ${sql.table(`gateway.${table_name}`)} x`.execute(gw.db);
    for (const { row } of dump.rows) {
      rows++;
      for (const pan of pans) {
        if (row.includes(pan) || row.includes(Buffer.from(pan).toString('hex'))) t.fail(`${table_name} holds a PAN`);
      }
      if (/"cvv"|"cvc"|"securityCode"/i.test(row)) t.fail(`${table_name} holds a CVV field`);
      for (const cvv of CVVS) if (row.includes(`"${cvv}"`) || row.includes(`:${cvv},`) || row.includes(`:${cvv}}`)) t.fail(`${table_name} holds a CVV value`);
    }
  }
  t.ok(rows > 50, `${rows} rows scanned, none with card data`);

  const keys = await gw.ctx.redis.keys(`${gw.env.REDIS_KEY_PREFIX}*`);
  for (const key of keys) {
    const type = await gw.ctx.redis.type(key);
    const value = type === 'string' ? await gw.ctx.redis.get(key) : JSON.stringify(await gw.ctx.redis.hgetall(key).catch(() => ({})));
    for (const pan of pans) if (`${key} ${value}`.includes(pan)) t.fail(`Redis key ${key} holds a PAN`);
  }
  const outbox = await readFile(gw.ctx.config.identity.sms.outboxFile, 'utf8');
  for (const pan of pans) t.notOk(outbox.includes(pan), 'no PAN in any SMS');
  t.notOk(outbox.includes(CARDS.frictionless.slice(0, 12)), 'an SMS shows only the last 4');
});
