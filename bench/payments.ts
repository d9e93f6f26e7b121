// npm run bench:payments — end-to-end card payments per second (create + confirm with the SMS
// code) through the real processes: the gateway (gateway/src/server.ts) over HTTPS, the vault
// (vault/src/server.ts) over mutual TLS, PostgreSQL and Redis — next to a bare Fastify HTTPS
// route measured in the same run on the same machine (bench/bare-https-server.ts).
// Scenarios: "saved card" (SP-14.2: {cardId}, confirmed with the code alone, the card charged on
// file) and "card entered" (SP-14.1: the full card goes to the vault's tokenizer each time; each
// client rotates over its 3 cards, the most SP-15.3 allows in a month). Codes are read from the SMS outbox file, as a phone would.
// Settings: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (5), BENCH_CONCURRENCY (32), BENCH_CLIENTS (= concurrency), GATEWAY_DB_POOL;
// PostgreSQL from TEST_DATABASE_URL (127.0.0.1:5432/test), Redis from TEST_REDIS_URL.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import pg from 'pg';
import { Queue } from 'bullmq';
import { generateDevPki } from '../lib/pki.js';
import { ensureDevSecrets } from '../scripts/dev-secrets.js';
import { freshDatabaseUrl } from '../test/support/database.js';
import { startProcess } from '../test/support/processes.js';
import { randomCard } from '../test/support/cards.js';
import { smsReader } from '../test/support/sms-reader.js';
import { backendPids, cpuSeconds } from './cpu.js';
import { TEST_REDIS_URL, uniqueName } from '../test/support/redis.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? CONCURRENCY);

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };
async function cleanup() {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

interface Client { phone: string; auth: string; cards: string[]; savedCardId: string }

async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-bench-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  generateDevPki(join(dir, 'pki'));
  ensureDevSecrets(dir);
  const smsFile = join(dir, 'sms-outbox.jsonl');
  const auditQueue = uniqueName('bench-audit');
  const common = { NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: dir, REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: auditQueue };
  t.teardown(async () => {
    const q = new Queue(auditQueue, { connection: { url: TEST_REDIS_URL } });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  });

  const vaultDb = await freshDatabaseUrl(t);
  const gatewayDb = await freshDatabaseUrl(t);
  const vault = await startProcess(t, 'vault/src/server.ts', { ...common, DATABASE_URL: vaultDb, VAULT_PORT: '0' });
  const gateway = await startProcess(t, 'gateway/src/server.ts', {
    ...common,
    DATABASE_URL: gatewayDb,
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ADMIN_PORT: '0',
    REDIS_KEY_PREFIX: `${uniqueName('bench')}:`,
    SMS_OUTBOX_FILE: smsFile,
    // The load comes from one IP and few phones: lift the per-IP and per-phone ceilings.
    RATE_LIMIT_MAX: '1000000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '10000', OTP_MAX_PER_IP_HOUR: '100000',
    OTP_MAX_PER_PREFIX_HOUR: '1000000', OTP_DAILY_BUDGET: '100000000', OTP_RESEND_COOLDOWN_SECONDS: '0',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000', VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000',
    ...(process.env.GATEWAY_DB_POOL ? { GATEWAY_DB_POOL: process.env.GATEWAY_DB_POOL } : {}),
  });
  const bare = await startProcess(t, 'bench/bare-https-server.ts', { DATA_DIR: dir });

  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(join(dir, 'pki', 'ca.crt'));
  const pool = (port: unknown) => new Pool(`https://localhost:${String(port)}`, { connections: CONCURRENCY, connect: { ca, servername: 'localhost' } });
  const gw = pool(gateway.ready.publicPort);
  const baseline = pool(bare.ready.port);
  t.teardown(() => Promise.all([gw.close(), baseline.close()]));
  const sms = smsReader(smsFile);

  async function call(method: 'GET' | 'POST', path: string, body?: unknown, auth?: string) {
    const res = await gw.request({
      method, path,
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
  }

  async function newClient(i: number): Promise<Client> {
    const phone = `+7701${String(1_000_000 + i * 7919 + randomInt(1000)).slice(-7)}`;
    const v = await call('POST', '/v1/verifications', { phone });
    const c = await call('POST', `/v1/verifications/${v.json.verificationId}/confirm`, { code: sms.code(phone) });
    const password = 'Steppe-Wind-42';
    await call('POST', '/v1/registrations', { verificationToken: c.json.verificationToken, name: 'Bench Client', birthDate: '1990-05-17', password });
    const s = await call('POST', '/v1/sessions', { phone, password });
    if (s.status !== 201) throw new Error(`bench client login failed: ${s.status} ${JSON.stringify(s.json)}`);
    const auth = `Bearer ${s.json.token}`;
    const cards = [randomCard('440043'), randomCard('440043'), randomCard('539545')];
    const first = await payOnce({ phone, auth, cards, savedCardId: '' }, 'entered', 0);
    if (!first.ok) throw new Error('bench client\'s first payment failed');
    return { phone, auth, cards, savedCardId: first.cardId };
  }

  async function payOnce(c: Client, mode: 'saved' | 'entered', n: number): Promise<{ ok: boolean; cardId: string }> {
    const card = mode === 'saved' ? { cardId: c.savedCardId } : { number: c.cards[n % 3], expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvv: '123' };
    const created = await call('POST', '/v1/payments', {
      providerId: 'kcell', amount: { value: 150_000, currency: 'KZT' }, params: { phone: '+77011234567' }, card,
    }, c.auth);
    if (created.status !== 201) return { ok: false, cardId: '' };
    const confirmed = await call('POST', `/v1/payments/${created.json.id}/confirm`, { code: sms.code(c.phone) }, c.auth);
    return { ok: confirmed.status === 200 && confirmed.json.status === 'succeeded', cardId: created.json.card.id };
  }

  // A merchant of the kcell provider with a test key, made by staff over the mutual-TLS listener.
  const staff = new Pool(`https://127.0.0.1:${String(gateway.ready.adminPort)}`, {
    connect: { ca, cert: readFileSync(join(dir, 'pki', 'admin.crt')), key: readFileSync(join(dir, 'pki', 'admin.key')), servername: 'localhost' },
  });
  t.teardown(() => staff.close());
  async function staffPost(path: string, body: unknown) {
    const res = await staff.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = await res.body.json() as Record<string, string>;
    if (res.statusCode !== 201) throw new Error(`staff ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  }
  const merchant = await staffPost('/v1/merchants', { name: 'Bench Shop', providerId: 'kcell', returnOrigins: ['https://shop.example'] });
  const merchantKey = `Bearer ${(await staffPost(`/v1/merchants/${merchant.id!}/keys`, { mode: 'test' })).secret!}`;

  /** Issue 15: the merchant creates a session, the customer pays it with its saved card and confirms. */
  async function checkoutOnce(c: Client): Promise<boolean> {
    const session = await call('POST', '/v1/checkout/sessions', {
      amount: 150_000, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: 'https://shop.example/done',
    }, merchantKey);
    if (session.status !== 201) return false;
    const paid = await call('POST', `/v1/checkout/sessions/${session.json.id}/pay`, { card: { cardId: c.savedCardId } }, c.auth);
    if (paid.status !== 201) return false;
    const confirmed = await call('POST', `/v1/payments/${paid.json.id}/confirm`, { code: sms.code(c.phone) }, c.auth);
    return confirmed.status === 200 && confirmed.json.status === 'succeeded';
  }

  process.stdout.write(`setting up ${CLIENTS} clients…\n`);
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i += 8) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(8, CLIENTS - i) }, (_, k) => newClient(i + k))));
  }

  type Watched = Array<[label: string, pids: number[] | (() => Promise<number[]>)]>;
  const bareServer: Watched = [['server', [bare.child.pid!]]];
  // Read at the start of a scenario: after the warm-up every pool is full, so these backends serve all of it.
  const paymentServers: Watched = [
    ['gateway', [gateway.child.pid!]], ['vault', [vault.child.pid!]],
    ['their PostgreSQL backends', async () => [...await backendPids(gatewayDb), ...await backendPids(vaultDb)]],
  ];

  // SP-21 audit volume: nothing drains the gateway's outbox here (no audit-worker), so its rows
  // counted around a scenario are the events that scenario recorded.
  const outboxRows = async () => {
    const client = new pg.Client({ connectionString: gatewayDb });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>('select count(*) as n from gateway.audit_outbox')).rows[0]!.n);
    } finally {
      await client.end();
    }
  };

  async function measure(name: string, watched: Watched, iteration: (vu: number, n: number) => Promise<boolean>) {
    const rowsBefore = watched === bareServer ? 0 : await outboxRows();
    const pids = await Promise.all(watched.map(([, list]) => (typeof list === 'function' ? list() : list)));
    const cpuBefore = pids.map(cpuSeconds);
    const latencies: number[] = [];
    let failed = 0;
    const end = Date.now() + SECONDS * 1000;
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, vu) => {
      for (let n = 0; Date.now() < end; n++) {
        const t0 = performance.now();
        const ok = await iteration(vu, n).catch(() => false);
        if (ok) latencies.push(performance.now() - t0); else failed++;
      }
    }));
    const elapsed = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const line = `${name.padEnd(44)} ${(latencies.length / elapsed).toFixed(0).padStart(6)}/s   p50 ${percentile(latencies, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(latencies, 99).toFixed(1).padStart(6)} ms   (${latencies.length} ok, ${failed} failed)`;
    process.stdout.write(`${line}\n`);
    if (latencies.length > 0) {
      const perOp = watched.map((_, i) => ((cpuSeconds(pids[i]!) - cpuBefore[i]!) * 1000) / latencies.length);
      const total = perOp.reduce((a, b) => a + b, 0);
      // The ceiling those processes alone set, with nothing else (client, Redis) on the cores.
      process.stdout.write(`${''.padEnd(44)} CPU per iteration: ${watched.map(([label], i) => `${label} ${perOp[i]!.toFixed(2)} ms`).join(', ')}`
        + `${watched.length > 1 ? `; total ${total.toFixed(2)} ms` : ''}, so at most ${Math.round((cpus().length * 1000) / total)}/s on ${cpus().length} otherwise idle cores\n`);
      if (watched !== bareServer) {
        const events = (await outboxRows()) - rowsBefore;
        process.stdout.write(`${''.padEnd(44)} audit events: ${(events / (latencies.length + failed)).toFixed(2)} per iteration (${events})\n`);
      }
    }
  }

  process.stdout.write(`\n${CONCURRENCY} concurrent virtual clients, ${SECONDS} s per scenario, Node ${process.version}\n`);
  await measure('baseline: bare Fastify HTTPS POST (1 request)', bareServer, async () => {
    const res = await baseline.request({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"ping":1}' });
    await res.body.text();
    return res.statusCode === 200;
  });
  await measure('baseline: bare Fastify HTTPS POST ×2 (create+confirm shape)', bareServer, async () => {
    for (let i = 0; i < 2; i++) {
      const res = await baseline.request({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"ping":1}' });
      await res.body.text();
      if (res.statusCode !== 200) return false;
    }
    return true;
  });
  // Unreported warm-up: both flows run until V8 has optimised their code and every pool is full.
  const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, vu) => {
    const end = Date.now() + WARMUP_SECONDS * 1000;
    for (let n = 0; Date.now() < end; n++) await payOnce(clients[vu % clients.length]!, n % 2 ? 'saved' : 'entered', n).catch(() => undefined);
  }));
  await measure('payments: saved card (create + confirm)', paymentServers, async (vu, n) => (await payOnce(clients[vu % clients.length]!, 'saved', n)).ok);
  await measure('payments: card entered (tokenize + create + confirm)', paymentServers, async (vu, n) => (await payOnce(clients[vu % clients.length]!, 'entered', n)).ok);
  await measure('checkout session (merchant create + customer pay + confirm)', paymentServers, async (vu) => checkoutOnce(clients[vu % clients.length]!));
  // SP-21: every read is recorded too, one INSERT each on top of the session check and the read.
  await measure('reads: GET /v1/me + GET /v1/payments (audited)', paymentServers, async (vu) => {
    const c = clients[vu % clients.length]!;
    return (await call('GET', '/v1/me', undefined, c.auth)).status === 200 && (await call('GET', '/v1/payments?limit=5', undefined, c.auth)).status === 200;
  });
  process.stdout.write('\ntarget on a 2-core machine: >= 300 completed payments/s with p99 <= 150 ms\n');
}

try {
  await run();
} finally {
  await cleanup();
}
