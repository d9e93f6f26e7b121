// Issue 18 item 5 — faults under steady payment load, with nothing lost (SP-14, SP-15, SP-21).
// Real processes on loopback only: two gateways, the vault and the audit-worker, on a PostgreSQL
// cluster and a Redis server of the run's own (so they can be crashed). Saved-card payments run
// throughout; one at a time the run kills -9 the vault, the audit-worker and one gateway, crashes
// and restarts PostgreSQL, restarts Redis, and fills Redis to its maxmemory (noeviction). After
// each, the system must serve a payment again within RECOVERY_S by itself. At the end the run
// reconciles: no payment left in doubt once the sweep has run, every payment the clients saw
// succeed is `succeeded` with exactly one approved vault authorization (and none that failed has
// one), every audit event is in the chain once and the chain verifies, no answer leaked internals.
// `npm run chaos` (not part of `npm test`: ~3 minutes of load); .ci/run runs it.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { Redis } from 'ioredis';
import { generateDevPki } from '../lib/pki.js';
import { ensureDevSecrets } from '../scripts/dev-secrets.js';
import { ownPostgres } from '../audit-worker/test/own-postgres.js';
import { freePort } from '../test/support/net.js';
import { runToExit } from '../test/support/processes.js';
import { randomCard } from '../test/support/cards.js';
import { smsReader } from '../test/support/sms-reader.js';
import { ERROR_STATUS } from '../gateway/src/errors.js';
import { ownRedis } from '../audit-worker/test/redis-server.js';
import { NO_SHEDDING } from '../test/support/gateway.js';
import { Service } from './services.js';

const RECOVERY_S = Number(process.env.CHAOS_RECOVERY_S ?? 30);
const STEADY_MS = Number(process.env.CHAOS_STEADY_MS ?? 4000);
const VUS = Number(process.env.CHAOS_VUS ?? 6);

const dir = mkdtempSync(join(tmpdir(), 'pgw-chaos-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
generateDevPki(join(dir, 'pki'));
ensureDevSecrets(dir);
const ca = readFileSync(join(dir, 'pki', 'ca.crt'));

const postgres = await ownPostgres(t);
// With an append-only file, as production runs it: a restart keeps the queues.
const redisDir = mkdtempSync(join(tmpdir(), 'pgw-chaos-redis-'));
t.teardown(() => rmSync(redisDir, { recursive: true, force: true }));
const redis = await ownRedis(t, 'noeviction', redisDir);
const db = new pg.Pool({ connectionString: postgres.url, max: 2 });
db.on('error', () => undefined);
t.teardown(() => db.end());

const [vaultPort, workerHealth, workerExport, portA, portB] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
// Faults, not overload: shedding (its own test) stays out of the way of the load generator.
const common = { ...NO_SHEDDING, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: dir, DATABASE_URL: postgres.url, REDIS_URL: redis.url, AUDIT_QUEUE: 'chaos-audit' };
const vault = new Service(t, 'vault', 'vault/src/server.ts', { ...common, VAULT_PORT: String(vaultPort) });
const worker = new Service(t, 'audit-worker', 'audit-worker/src/worker.ts', {
  ...common, AUDIT_HEALTH_PORT: String(workerHealth), AUDIT_EXPORT_PORT: String(workerExport),
  AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl'),
});
const gatewayEnv = (port: number, name: string) => ({
  ...common,
  VAULT_URL: `https://127.0.0.1:${vaultPort}`, AUDIT_EXPORT_URL: `https://127.0.0.1:${workerExport}`,
  GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), ADMIN_PORT: '0',
  SMS_OUTBOX_FILE: join(dir, `sms-${name}.jsonl`),
  PAYMENTS_SWEEP_INTERVAL_MS: '1000',
  // One address and few phones carry the whole load: lift the per-IP and per-phone ceilings.
  RATE_LIMIT_MAX: '1000000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '10000', OTP_MAX_PER_IP_HOUR: '100000',
  OTP_MAX_PER_PREFIX_HOUR: '1000000', OTP_DAILY_BUDGET: '100000000', OTP_RESEND_COOLDOWN_SECONDS: '0',
  LOGIN_RATE_LIMIT_PER_MINUTE: '100000', VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000',
});
const gateways = [
  { name: 'A', service: new Service(t, 'gateway A', 'gateway/src/server.ts', gatewayEnv(portA, 'A')), port: portA, sms: smsReader(join(dir, 'sms-A.jsonl')) },
  { name: 'B', service: new Service(t, 'gateway B', 'gateway/src/server.ts', gatewayEnv(portB, 'B')), port: portB, sms: smsReader(join(dir, 'sms-B.jsonl')) },
];
await vault.start();
await worker.start();
await gateways[0]!.service.start();
await gateways[1]!.service.start();
const pools = gateways.map((g) => new Pool(`https://localhost:${g.port}`, { connections: VUS, connect: { ca, servername: 'localhost' }, headersTimeout: 20_000, bodyTimeout: 20_000 }));
t.teardown(() => Promise.all(pools.map((p) => p.close())));

interface Answer { status: number; json: any; text: string }
/** Every answer with a status of 500 or more, kept to check that none leaks internals. */
const serverErrors: Answer[] = [];
async function call(g: number, method: 'GET' | 'POST', path: string, body?: unknown, auth?: string): Promise<Answer> {
  const res = await pools[g]!.request({
    method, path,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  const answer = { status: res.statusCode, json, text };
  if (res.statusCode >= 500) serverErrors.push(answer);
  return answer;
}

async function code(g: number, phone: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const c = gateways[g]!.sms.code(phone);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no SMS for ${phone}`);
}

interface Client { phone: string; auth: string; cardId: string }
const payBody = (card: object) => ({ providerId: 'kcell', amount: { value: 150_000, currency: 'KZT' }, params: { phone: '+77011234567' }, card });

async function newClient(i: number): Promise<Client> {
  const phone = `+7702${String(1_000_000 + i * 7919 + randomInt(1000)).slice(-7)}`;
  const v = await call(0, 'POST', '/v1/verifications', { phone });
  const c = await call(0, 'POST', `/v1/verifications/${v.json.verificationId}/confirm`, { code: await code(0, phone) });
  const password = 'Steppe-Wind-42';
  await call(0, 'POST', '/v1/registrations', { verificationToken: c.json.verificationToken, name: 'Chaos Client', birthDate: '1990-05-17', password });
  const s = await call(0, 'POST', '/v1/sessions', { phone, password });
  const auth = `Bearer ${s.json.token}`;
  const created = await call(0, 'POST', '/v1/payments', payBody({ number: randomCard(), expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvv: '123' }), auth);
  const confirmed = await call(0, 'POST', `/v1/payments/${created.json.id}/confirm`, { code: await code(0, phone) }, auth);
  if (confirmed.json?.status !== 'succeeded') throw new Error(`first payment: ${confirmed.text}`);
  return { phone, auth, cardId: created.json.card.id };
}

const clients = await Promise.all(Array.from({ length: VUS }, (_, i) => newClient(i)));

/** What the clients saw, by payment id. */
const seen = new Map<string, 'succeeded' | 'declined' | 'unknown'>();
let lastSuccessAt = Date.now();
let successes = 0;
let attempts = 0;
let stopping = false;
const down = new Set<number>();

async function payOnce(vu: number, n: number): Promise<void> {
  const c = clients[vu]!;
  const candidates = [0, 1].filter((g) => !down.has(g));
  const g = candidates[(vu + n) % candidates.length] ?? 0;
  attempts++;
  const created = await call(g, 'POST', '/v1/payments', payBody({ cardId: c.cardId }), c.auth);
  if (created.status !== 201) return;
  const id = created.json.id as string;
  seen.set(id, 'unknown');
  const confirmed = await call(g, 'POST', `/v1/payments/${id}/confirm`, { code: await code(g, c.phone) }, c.auth);
  if (confirmed.status === 200 && confirmed.json.status === 'succeeded') {
    seen.set(id, 'succeeded');
    lastSuccessAt = Date.now();
    successes++;
  } else if (confirmed.status === 200 && confirmed.json.status === 'declined') {
    seen.set(id, 'declined');
  }
}

const load = Promise.all(clients.map(async (_, vu) => {
  for (let n = 0; !stopping; n++) {
    await payOnce(vu, n).catch(() => undefined);
  }
}));

async function recovered(what: string): Promise<number> {
  const from = Date.now();
  const mark = from;
  while (lastSuccessAt <= mark) {
    if (Date.now() - from > RECOVERY_S * 1000) throw new Error(`${what}: no payment succeeded within ${RECOVERY_S} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return (Date.now() - from) / 1000;
}
const steady = () => new Promise((r) => setTimeout(r, STEADY_MS));

const faults: Array<[string, () => Promise<void>, () => Promise<void>]> = [
  ['kill -9 the vault', () => vault.kill9(), () => vault.start()],
  ['kill -9 the audit-worker', () => worker.kill9(), () => worker.start()],
  ['kill -9 gateway A', async () => { down.add(0); await gateways[0]!.service.kill9(); }, async () => { await gateways[0]!.service.start(); down.delete(0); }],
  ['crash and restart PostgreSQL', () => postgres.crash(), () => postgres.start()],
  ['kill -9 and restart Redis (append-only file)', () => redis.stop(), () => redis.start()],
  ['Redis full (maxmemory, noeviction)', fillRedis, emptyRedis],
];

const filler = new Redis(redis.url, { maxRetriesPerRequest: null });
filler.on('error', () => undefined);
t.teardown(() => filler.disconnect());
// Filling once is not enough: BullMQ removes finished jobs and keys expire, so Redis would drop
// back under maxmemory within moments and the fault would be a fault in name only. The filler
// keeps taking whatever memory is freed until the fault ends and counts the writes Redis refused
// with OOM; without such refusals the step proved nothing and fails.
let topping: Promise<number> | undefined;
let keepFull = false;
async function fillRedis(): Promise<void> {
  const used = Number(/used_memory:(\d+)/.exec(await filler.info('memory'))![1]);
  await filler.config('SET', 'maxmemory', String(used + 2_000_000));
  const blob = 'x'.repeat(100_000);
  for (let i = 0; i < 100; i++) {
    try { await filler.set(`chaos:fill:${i}`, blob); } catch { break; }
  }
  keepFull = true;
  topping = (async () => {
    let refused = 0;
    for (let i = 0; keepFull; i++) {
      await filler.set(`chaos:fill:top:${i}`, 'x'.repeat(1000)).catch(async (e: Error) => {
        if (/OOM/.test(e.message)) refused++;
        await new Promise((r) => setTimeout(r, 5));
      });
    }
    return refused;
  })();
}
async function emptyRedis(): Promise<void> {
  keepFull = false;
  const refused = await topping;
  const keys = await filler.keys('chaos:fill:*');
  if (keys.length) await filler.del(...keys);
  await filler.config('SET', 'maxmemory', '0');
  if (!refused) throw new Error('Redis was never full during the fault: no write was refused with OOM');
}

const recovery: Array<[string, number]> = [];
t.test('faults under load: each one recovered by itself', async (t) => {
  await steady();
  t.ok(seen.size > 0, `payments flow before the faults (${seen.size})`);
  for (const [name, inject, restore] of faults) {
    const before = successes;
    await inject();
    await new Promise((r) => setTimeout(r, 2000));
    const during = successes - before;
    await restore();
    const s = await recovered(name);
    recovery.push([name, s]);
    t.pass(`${name}: ${during} payments succeeded during the 2 s fault; one succeeded ${s.toFixed(1)} s after the restore`);
    await steady();
  }
  stopping = true;
  await load;
});

t.test('reconciliation: nothing lost, nothing doubled, nothing in doubt', async (t) => {
  // Also when a fault step failed and left the load running.
  stopping = true;
  await load;
  const q = async <R extends pg.QueryResultRow>(text: string) => (await db.query<R>(text)).rows;
  // The sweep settles what a fault left in `processing`; open payments simply expire later.
  const deadline = Date.now() + 60_000;
  while ((await q<{ n: number }>(`select count(*)::int as n from gateway.payments where status = 'processing'`))[0]!.n > 0) {
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  t.equal((await q<{ n: number }>(`select count(*)::int as n from gateway.payments where status = 'processing'`))[0]!.n, 0, 'no payment left in doubt');

  const rows = await q<{ id: string; status: string; outcome: string | null; n: number }>(`
    select p.id, p.status, a.outcome, (select count(*)::int from vault.authorizations x where x.payment_ref = p.id::text) as n
    from gateway.payments p left join vault.authorizations a on a.payment_ref = p.id::text`);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const seenOk = [...seen].filter(([, s]) => s === 'succeeded').map(([id]) => id);
  t.ok(seenOk.length > 50, `the clients saw ${seenOk.length} payments succeed (of ${attempts} attempts)`);
  t.same(seenOk.filter((id) => byId.get(id)?.status !== 'succeeded'), [], 'every payment a client saw succeed is succeeded');
  t.same(rows.filter((r) => r.status === 'succeeded' && (r.outcome !== 'approved' || r.n !== 1)).map((r) => r.id), [],
    'every succeeded payment has exactly one approved vault authorization');
  t.same(rows.filter((r) => r.status !== 'succeeded' && r.outcome === 'approved').map((r) => `${r.id} ${r.status}`), [],
    'no payment authorized by the vault and reported otherwise');

  const outboxes = async () => (await q<{ n: number }>(`select (select count(*) from gateway.audit_outbox) + (select count(*) from vault.audit_outbox) as n`))[0]!.n;
  const drained = Date.now() + 60_000;
  while (Number(await outboxes()) > 0 && Date.now() < drained) await new Promise((r) => setTimeout(r, 500));
  t.equal(Number(await outboxes()), 0, 'every audit event left the outboxes');
  const [chain] = await q<{ total: number; distinct: number; max: number }>(`select count(*)::int as total, count(distinct event_id)::int as distinct, max(seq)::int as max from audit.events`);
  t.equal(chain!.total, chain!.distinct, `each event once (${chain!.total})`);
  t.equal(chain!.max, chain!.total, 'seq gapless');
  const verify = await runToExit('scripts/audit-verify.ts', { ...common, AUDIT_DATABASE_URL: postgres.url, AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl') });
  t.match(verify.output, /intact/, 'audit:verify says intact');
  t.equal(verify.code, 0);

  const leaky = serverErrors.filter((a) => /\bat [\w.<>]+ \(|ECONNREFUSED|ECONNRESET|terminated|select |insert |update |\/node_modules\/|Error:/i.test(a.text)
    || !(a.json?.code in ERROR_STATUS) || Object.keys(a.json).some((k) => !['type', 'title', 'status', 'detail', 'code'].includes(k)));
  // One of each kind (numbers masked), so a failure shows what leaked without thousands of lines.
  const kinds = [...new Set(leaky.map((a) => `${a.status} ${a.text.replace(/\d+/g, 'N').slice(0, 600)}`))];
  t.same(kinds, [], `no answer leaked internals (${serverErrors.length} answers of 5xx, each problem+json)`);
  const codes = [...new Set(serverErrors.map((a) => `${a.status} ${a.json?.code}`))].sort();
  t.comment(`recovery: ${recovery.map(([n, s]) => `${n} ${s.toFixed(1)} s`).join('; ')}`);
  t.comment(`5xx answers by code: ${codes.join(', ') || 'none'}`);
});
