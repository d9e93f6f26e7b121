// SP-16, SP-17: a canary card number and CVV pushed through tokenize, authorize, a 3-D Secure
// challenge and the error paths appear nowhere: not in any column of any schema (text and bytea),
// not in the vault's log, not in Redis (every key and value), not in the BullMQ audit jobs, not in
// any response body. The scanners are shown to find the canary where it is, so they can fail.
import t from 'tap';
import { randomInt } from 'node:crypto';
import { sql } from 'kysely';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../lib/logger.js';
import { luhnValid } from '../src/card-number.js';
import { migratedDatabase } from '../../test/support/database.js';
import { TEST_REDIS_URL } from '../../test/support/redis.js';
import { startTestVault } from '../../test/support/vault.js';

function canaryPan(prefix: string): string {
  for (;;) {
    let pan = prefix;
    while (pan.length < 16) pan += String(randomInt(10));
    if (luhnValid(Buffer.from(pan)) && !['0007', '0015', '0023', '0031', '0049'].includes(pan.slice(-4))) return pan;
  }
}
const PAN = canaryPan('440043');
const CHALLENGE_PAN = '4400430000000015';
// A 3-digit CVV is looked for as a whole value (not inside longer numbers, ids, addresses or
// timestamps), and never one that equals a number these flows print anyway (status codes...).
function canaryCvv(): string {
  for (;;) {
    const cvv = String(randomInt(100, 1000));
    if (!['127', '200', '201', '400', '404', '409', '422', '500', '503'].includes(cvv)) return cvv;
  }
}
const CVV = canaryCvv();
const cvvPattern = new RegExp(`(?<![0-9A-Za-z_.-])${CVV}(?![0-9A-Za-z_.-])`);
function leaks(text: string, opts: { cvv?: boolean } = {}): string[] {
  const found: string[] = [];
  if (text.includes(PAN)) found.push('PAN');
  if (text.includes(PAN.slice(6, 12))) found.push('PAN middle digits');
  if (opts.cvv !== false && cvvPattern.test(text)) found.push('CVV');
  return found;
}

t.test('SP-16: the canary scanners find what they look for', async (t) => {
  t.same(leaks(`{"pan":"${PAN}"}`), ['PAN', 'PAN middle digits']);
  t.same(leaks(`{"cvv":"${CVV}"}`), ['CVV']);
  t.same(leaks(`{"cvv":${CVV}}`), ['CVV'], 'also as a number');
  t.same(leaks(`{"at":"2026-11-24T10:00:00.${CVV}Z","id":"tok_x${CVV}y","ip":"${CVV}.0.0.1"}`), [], 'timestamps, ids and addresses are not CVVs');
});

t.test('SP-16: pino redaction hides card fields wherever a careless caller puts them', async (t) => {
  const lines: string[] = [];
  const log = createLogger('vault', 'info', { write: (line: string) => { lines.push(line); } });
  log.info({ pan: PAN, cvv: CVV, card: { number: PAN, cvv: CVV }, body: { pan: PAN, cvv: CVV, expMonth: 1 } }, 'careless');
  t.equal(lines.length, 1);
  t.same(leaks(lines.join('')), []);
  t.match(lines[0], /\[REDACTED\]/);
});

t.test('SP-16: the canary PAN and CVV are nowhere after tokenize and authorize', async (t) => {
  const { url: databaseUrl, db } = await migratedDatabase(t, ['gateway', 'vault', 'audit']);
  const logLines: string[] = [];
  const vault = await startTestVault(t, { databaseUrl, relay: true, logStream: { write: (line: string) => { logLines.push(line); } } });
  const bodies: string[] = [];
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await vault.client.call<any>(method, path, body);
    bodies.push(JSON.stringify(res.body));
    return res;
  };

  const tokenized = await call('POST', '/v1/tokens', { pan: PAN.replace(/(\d{4})/g, '$1 ').trim(), expMonth: 12, expYear: 2030, cvv: CVV, clientRef: 'client-1' });
  t.equal(tokenized.status, 201);
  const token = tokenized.body.token;
  t.equal((await call('POST', '/v1/authorizations', {
    token, clientRef: 'client-1', amount: { value: 150000, currency: 'KZT' }, merchant: 'Almaty Power', paymentRef: 'pay-1',
  })).body.outcome, 'approved', 'authorized with the held CVV');
  t.equal((await call('POST', '/v1/authorizations', {
    token, clientRef: 'client-1', cvv: CVV, amount: { value: 1000, currency: 'KZT' }, merchant: 'Almaty Power', paymentRef: 'pay-2',
  })).body.outcome, 'approved', 'authorized with a CVV in the request');
  const challenged = await call('POST', '/v1/tokens', { pan: CHALLENGE_PAN, expMonth: 12, expYear: 2030, cvv: CVV, clientRef: 'client-1' });
  const pending = await call('POST', '/v1/authorizations', {
    token: challenged.body.token, clientRef: 'client-1', amount: { value: 1000, currency: 'KZT' }, merchant: 'm', paymentRef: 'pay-3',
  });
  await call('GET', `/v1/challenges/${pending.body.challenge.ref}`);
  await call('POST', `/v1/challenges/${pending.body.challenge.ref}/complete`, { result: 'pass' });
  // Error paths carry the canary too: a bad expiry, a foreign card with the same digits' shape,
  // a CVV for someone else's token, and a body that is not JSON.
  t.equal((await call('POST', '/v1/tokens', { pan: PAN, expMonth: 1, expYear: 2020, cvv: CVV, clientRef: 'client-1' })).body.code, 'card_expired');
  t.equal((await call('POST', '/v1/tokens', { pan: PAN, expMonth: 12, expYear: 2030, cvv: `${CVV}9`, clientRef: 'client-1' })).body.code, 'card_invalid');
  t.equal((await call('POST', '/v1/authorizations', {
    token, clientRef: 'client-2', cvv: CVV, amount: { value: 1, currency: 'KZT' }, merchant: 'm', paymentRef: 'pay-4',
  })).body.code, 'token_unknown');
  t.equal((await call('POST', '/v1/tokens', `{"pan":"${PAN}","cvv":"${CVV}",`)).status, 400, 'malformed JSON');

  // Let the relay publish every outbox row to BullMQ.
  for (let i = 0; i < 100; i++) {
    const left = await vault.db.selectFrom('vault.audit_outbox').select('event_id').where('published_at', 'is', null).execute();
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  await t.test('any column of any schema (text, json and bytea)', async (t) => {
    const columns = await sql<{ table_schema: string; table_name: string; column_name: string; data_type: string }>`
      select table_schema, table_name, column_name, data_type from information_schema.columns
      where table_schema not in ('pg_catalog', 'information_schema')
        and data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY', 'USER-DEFINED')`.execute(db);
    t.ok(columns.rows.some((c) => c.table_schema === 'vault' && c.column_name === 'card_ciphertext'), 'vault ciphertext column scanned');
    t.ok(columns.rows.some((c) => c.table_schema === 'gateway'), 'gateway schema scanned');
    let values = 0;
    const found: string[] = [];
    const panBytes = Buffer.from(PAN);
    for (const c of columns.rows) {
      const rows = await sql<{ v: unknown }>`select ${sql.ref(c.column_name)}${sql.raw(c.data_type === 'bytea' ? '' : '::text')} as v
        from ${sql.table(`${c.table_schema}.${c.table_name}`)}`.execute(db);
      for (const { v } of rows.rows) {
        if (v === null) continue;
        values++;
        const where = `${c.table_schema}.${c.table_name}.${c.column_name}`;
        if (Buffer.isBuffer(v)) {
          if (v.includes(panBytes) || v.includes(Buffer.from(PAN).toString('hex'))) found.push(`${where}: PAN bytes`);
        } else {
          found.push(...leaks(String(v)).map((what) => `${where}: ${what}`));
        }
      }
    }
    t.ok(values > 20, `${values} values scanned in ${columns.rows.length} columns`);
    t.same(found, [], 'no canary in the database');
  });

  await t.test('Redis: every key and value, and the BullMQ audit jobs', async (t) => {
    const redis = new Redis(TEST_REDIS_URL);
    t.teardown(() => redis.disconnect());
    let cursor = '0';
    let keys = 0;
    const found: string[] = [];
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      // Pipelined: one round trip for the types of a batch, one for its values.
      const types = ((await redis.pipeline(batch.map((key) => ['type', key])).exec()) ?? []).map(([, type]) => String(type));
      const reads = batch.map((key, i): [string, ...string[]] => {
        const type = types[i];
        return type === 'string' ? ['get', key]
          : type === 'hash' ? ['hgetall', key]
            : type === 'list' ? ['lrange', key, '0', '-1']
              : type === 'set' ? ['smembers', key]
                : type === 'zset' ? ['zrange', key, '0', '-1']
                  : type === 'stream' ? ['xrange', key, '-', '+']
                    : ['exists', key];
      });
      const values = (await redis.pipeline(reads).exec()) ?? [];
      batch.forEach((key, i) => {
        keys++;
        // Every key is searched for the PAN. A 3-digit number may turn up in other tests' data in
        // this shared Redis, so the CVV is searched where the vault writes: its audit queue.
        const cvv = key.startsWith(`bull:${vault.auditQueue}:`);
        const value = JSON.stringify(values[i]?.[1] ?? null);
        found.push(...leaks(key, { cvv }).map((what) => `key ${key}: ${what}`));
        found.push(...leaks(value, { cvv }).map((what) => `${key}: ${what}`));
      });
    } while (cursor !== '0');
    t.ok(keys > 0, `${keys} Redis keys scanned`);
    t.same(found, [], 'no canary in Redis');
    const queue = new Queue(vault.auditQueue, { connection: { url: TEST_REDIS_URL } });
    t.teardown(() => queue.close());
    const jobs = (await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).filter(Boolean);
    t.ok(jobs.length >= 8, `${jobs.length} audit jobs published`);
    t.same(leaks(JSON.stringify(jobs.map((j) => ({ name: j.name, id: j.id, data: j.data })))), []);
  });

  await t.test('the vault log and every response body', async (t) => {
    t.ok(logLines.length >= 10, `${logLines.length} log lines`);
    t.ok(logLines.some((l) => l.includes('/v1/authorizations')), 'requests were logged');
    t.same(logLines.flatMap((line) => leaks(line).map((what) => `${what}: ${line.slice(0, 160)}`)), [], 'no canary in the log');
    t.same(leaks(bodies.join('\n')), [], `${bodies.length} response bodies`);
  });
});
