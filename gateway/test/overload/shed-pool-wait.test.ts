// Issue 18 item 4: when requests queue for a PostgreSQL connection past OVERLOAD_MAX_POOL_WAITING,
// the public listener sheds with 503 `overloaded` + Retry-After (problem+json), /healthz still
// answers, and a flood of shed answers writes one audit record per source and minute (SP-21).
import t from 'tap';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { auditEvents } from '../../../test/support/clients.js';
import { loadGatewayConfig } from '../../src/config.js';
import { ConfigError } from '../../../lib/config.js';
import { testDataDir } from '../../../test/support/pki.js';

const SHED_BURST = 10;

/** Polls a condition the gateway reaches on its next pressure sample (every 50 ms here). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never reached: ${what}`);
}

t.test('issue 18: pool wait past its threshold sheds with 503 overloaded + Retry-After; SP-21 records the flood once', async (t) => {
  const gw = await buildTestGateway(t, {
    // The event-loop signal off: this test is of the pool-wait signal alone.
    env: { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', GATEWAY_DB_POOL: '1', OVERLOAD_MAX_POOL_WAITING: '0', OVERLOAD_SAMPLE_INTERVAL_MS: '50', OVERLOAD_RETRY_AFTER_S: '7' },
  });
  const me = () => gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer not-a-session-token' } });
  // Not audited, so polling it writes nothing while the only connection is held.
  const description = async () => (await gw.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode;

  t.equal((await me()).statusCode, 401, 'admitted while the pool is idle');

  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const holding = gw.db.connection().execute(async () => { await held; });
  const queued = sql`select 1`.execute(gw.db);
  await until(async () => (await description()) === 503, 'shedding');

  const health = await gw.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200, '/healthz still answers');

  // The first shed answer of the minute waits for its audit write (the connection is held); the
  // rest are flood-guarded and answer at once. Release once they have.
  let settled = 0;
  const burst = Array.from({ length: SHED_BURST }, () => me().then((r) => { settled++; return r; }));
  await until(async () => settled >= SHED_BURST - 1, 'the flood-guarded shed answers');
  release();
  const answers: LightMyRequestResponse[] = await Promise.all(burst);
  await Promise.all([holding, queued]);

  for (const res of answers) {
    t.equal(res.statusCode, 503);
    t.equal(res.headers['retry-after'], '7', 'Retry-After from OVERLOAD_RETRY_AFTER_S');
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), { status: 503, code: 'overloaded' });
  }
  t.notOk(answers.some((r) => /select|pool|postgres/i.test(r.body)), 'no internals in the answer');

  await until(async () => (await description()) === 200, 'admission once the queue drained');
  t.equal((await me()).statusCode, 401, 'admitted again');

  const shed = (await auditEvents(gw, 'profile.read')).filter((e) => e.details?.['reason'] === 'overloaded');
  t.equal(shed.length, 1, `${SHED_BURST} shed answers from one address, one audit record`);
  t.match(shed[0], { outcome: 'failure', details: { status: 503 } });
});

t.test('issue 18: overload settings are validated at start, naming the setting', async (t) => {
  const base = { DATABASE_URL: 'postgres://127.0.0.1/x', DATA_DIR: testDataDir() };
  for (const [name, value] of [['OVERLOAD_MAX_IN_FLIGHT', '-1'], ['OVERLOAD_MAX_IN_FLIGHT', 'many'], ['OVERLOAD_MAX_POOL_WAITING', '-1'], ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', '-1'], ['OVERLOAD_RETRY_AFTER_S', 'soon'], ['OVERLOAD_SAMPLE_INTERVAL_MS', '10']] as const) {
    t.throws(() => loadGatewayConfig({ ...base, [name]: value }), new ConfigError(name, ''), name);
  }
});

t.test('issue 18: past OVERLOAD_MAX_IN_FLIGHT requests answered at once, the surplus is shed with 503 overloaded at once, and each answer frees its place', async (t) => {
  const gw = await buildTestGateway(t, {
    env: { OVERLOAD_MAX_IN_FLIGHT: '2', GATEWAY_DB_POOL: '1', OVERLOAD_RETRY_AFTER_S: '3' },
  });
  const me = () => gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer not-a-session-token' } });

  // The only connection is held: the admitted requests wait for it, in flight.
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const holding = gw.db.connection().execute(async () => { await held; });
  let settled = 0;
  const burst = Array.from({ length: 6 }, () => me().then((r) => { settled++; return r; }));
  // The first shed answer of the minute waits for its audit write too; the other three do not.
  await until(async () => settled >= 3, 'the flood-guarded shed answers');
  const health = await gw.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200, '/healthz answers while the limit is reached');
  t.equal(settled, 3, 'the two admitted requests still wait for the database');
  release();
  const answers = await Promise.all(burst);
  await holding;

  const statuses = answers.map((r) => r.statusCode).sort();
  t.same(statuses, [401, 401, 503, 503, 503, 503], 'two admitted, four shed');
  for (const res of answers.filter((r) => r.statusCode === 503)) {
    t.equal(res.headers['retry-after'], '3');
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), { status: 503, code: 'overloaded' });
  }
  // Both places are free again: two at once are admitted, sequential requests always.
  t.same((await Promise.all([me(), me()])).map((r) => r.statusCode), [401, 401], 'answered requests free their places');
  for (let i = 0; i < 5; i++) t.equal((await me()).statusCode, 401);
});
