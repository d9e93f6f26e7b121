import t from 'tap';
import { sql } from 'kysely';
import { auditEvents } from '../../../test/support/clients.js';
import { CARDS, create, entered, kzCard, newClient, pay, paymentBody, paymentsWorld, relogin } from './world.js';

const { gw, clock } = await paymentsWorld(t);

async function months(clientId: string) {
  const r = await sql<{ month: string; cards: number }>`
    select to_char(month, 'YYYY-MM-DD') as month, cardinality(fingerprints) as cards
    from gateway.card_months where client_id = ${clientId} order by month`.execute(gw.db);
  return r.rows;
}

t.test('SP-15.3: a 4th distinct card in a calendar month is refused; the same card re-entered is still one', async (t) => {
  clock.set('2026-11-24T10:00:00Z');
  const c = await newClient(gw);
  const first = kzCard();
  // Paid, not only started: a card is offered as saved once a payment with it is approved (SP-16 retention).
  for (const pan of [first, kzCard(), kzCard()]) {
    t.equal((await pay(gw, c, entered(pan))).confirmed.status, 'succeeded');
  }
  const fourth = await create(gw, c, paymentBody(entered(kzCard())));
  t.equal(fourth.statusCode, 422);
  t.equal(fourth.json().code, 'card_limit_reached');
  t.equal((await create(gw, c, paymentBody(entered(first, { cvv: '456' })))).statusCode, 201, 're-entering a card already used this month is fine');
  const saved = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth })).json().data;
  t.equal(saved.length, 3, 'the refused card was not saved');
  t.equal((await create(gw, c, paymentBody({ cardId: saved[0].id }))).statusCode, 201, 'a saved card of this month is fine');
  t.same(await months(c.clientId), [{ month: '2026-11-01', cards: 3 }]);
  const refused = (await auditEvents(gw, 'payment.create')).filter((e) => e.targets.clientId === c.clientId);
  t.same(refused.map((e) => e.details?.reason), ['card_limit_reached'], 'SP-21: the refusal is audited');
});

t.test('SP-15.3: months are Almaty calendar months (UTC+5): 2026-11-30T19:30Z counts for December', async (t) => {
  clock.set('2026-11-30T18:00:00Z'); // 23:00 on 30 November in Almaty
  let c = await newClient(gw);
  for (let i = 0; i < 3; i++) t.equal((await create(gw, c, paymentBody(entered(kzCard())))).statusCode, 201);
  clock.set('2026-11-30T18:59:00Z'); // 23:59 in Almaty: still November
  c = await relogin(gw, c); // sessions idle out after 15 minutes
  t.equal((await create(gw, c, paymentBody(entered(kzCard())))).json().code, 'card_limit_reached');
  clock.set('2026-11-30T19:30:00Z'); // 00:30 on 1 December in Almaty
  c = await relogin(gw, c);
  const december = kzCard();
  t.equal((await create(gw, c, paymentBody(entered(december)))).statusCode, 201, 'a new month, a new allowance');
  t.same(await months(c.clientId), [{ month: '2026-11-01', cards: 3 }, { month: '2026-12-01', cards: 1 }]);
  for (let i = 0; i < 2; i++) t.equal((await create(gw, c, paymentBody(entered(kzCard())))).statusCode, 201);
  t.equal((await create(gw, c, paymentBody(entered(kzCard())))).json().code, 'card_limit_reached', 'December has its own 3');
});

t.test('SP-15.3: 10 concurrent payments with 10 new cards yield exactly 3 accepted', async (t) => {
  clock.set('2026-11-24T10:00:00Z');
  const c = await newClient(gw);
  const results = await Promise.all(Array.from({ length: 10 }, () => create(gw, c, paymentBody(entered(kzCard())))));
  const codes = results.map((r) => r.statusCode).sort();
  t.same(codes, [201, 201, 201, 422, 422, 422, 422, 422, 422, 422]);
  t.same(results.filter((r) => r.statusCode === 422).map((r) => r.json().code), Array(7).fill('card_limit_reached'));
  t.same(await months(c.clientId), [{ month: '2026-11-01', cards: 3 }]);
  const saved = await gw.db.selectFrom('gateway.cards').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(saved.length, 3, 'refused payments rolled their card back too');
  const payments = await gw.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(payments.length, 3);
});

t.test('SP-15.3: the database itself refuses a 4th fingerprint in a month', async (t) => {
  const c = await newClient(gw);
  await t.rejects(sql`insert into gateway.card_months (client_id, month, fingerprints)
                      values (${c.clientId}, '2026-11-01', array['a', 'b', 'c', 'd'])`.execute(gw.db), { code: '23514', constraint: 'card_months_fingerprints_check' });
});

t.test('SP-15.3: cards are counted per client', async (t) => {
  clock.set('2026-11-24T10:00:00Z');
  const a = await newClient(gw);
  const b = await newClient(gw);
  const shared = [kzCard(), kzCard(), kzCard()];
  for (const pan of shared) t.equal((await create(gw, a, paymentBody(entered(pan)))).statusCode, 201);
  t.equal((await create(gw, b, paymentBody(entered(CARDS.frictionless)))).statusCode, 201, 'another client has their own 3');
});
