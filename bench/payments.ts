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
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import pg from 'pg';
import { startProcess } from '../test/support/processes.js';
import { NO_SHEDDING } from '../test/support/gateway.js';
import { randomCard } from '../test/support/cards.js';
import { smsReader } from '../test/support/sms-reader.js';
import { randomKzPhone } from '../test/support/clients.js';
import { backendPids } from './cpu.js';
import { drive, totalCpuMs, type Figures, type Watched } from './measure.js';
import type { Baseline, BenchPart, Scenario } from './results.js';
import { startPaymentStack } from './payment-stack.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? CONCURRENCY);

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };
async function cleanup() {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}

interface Client { phone: string; auth: string; cards: string[]; savedCardId: string }

async function run(): Promise<BenchPart> {
  // A bench measures capacity: load shedding (503 beyond it) would turn the load into refusals.
  const { dir, ca, smsFile, vault, gateway, vaultDb, gatewayDb } = await startPaymentStack(t, { name: 'bench', gatewayEnv: NO_SHEDDING });
  const bare = await startProcess(t, 'bench/bare-https-server.ts', { DATA_DIR: dir });

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
    if (v.status !== 202) throw new Error(`bench client verification failed: ${v.status} ${JSON.stringify(v.json)}`);
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

  /** A new customer: verification SMS, its code confirmed, registration (one argon2id hash). */
  async function registerOnce(): Promise<boolean> {
    const phone = randomKzPhone();
    const v = await call('POST', '/v1/verifications', { phone });
    if (v.status !== 202) return false;
    const c = await call('POST', `/v1/verifications/${v.json.verificationId}/confirm`, { code: sms.code(phone) });
    if (c.status !== 200) return false;
    const r = await call('POST', '/v1/registrations', { verificationToken: c.json.verificationToken, name: 'Bench Client', birthDate: '1990-05-17', password: 'Steppe-Wind-42' });
    return r.status === 201;
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

  const bareServer: Watched = { server: [bare.child.pid!] };
  // Read at the start of a scenario: after the warm-up every pool is full, so these backends serve all of it.
  const paymentServers: Watched = {
    gateway: [gateway.child.pid!], vault: [vault.child.pid!],
    'their PostgreSQL backends': async () => [...await backendPids(gatewayDb), ...await backendPids(vaultDb)],
  };

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

  const baselines: Baseline[] = [];
  const scenarios: Scenario[] = [];
  async function measureBaseline(id: string, name: string, iteration: (vu: number, n: number) => Promise<boolean>) {
    const f = await drive({ concurrency: CONCURRENCY, seconds: SECONDS, watched: bareServer, iteration });
    print(name, f);
    baselines.push({ id, name, ...f });
  }
  async function measure(name: string, unit: string, iteration: (vu: number, n: number) => Promise<boolean>) {
    const rowsBefore = await outboxRows();
    const f = await drive({ concurrency: CONCURRENCY, seconds: SECONDS, watched: paymentServers, iteration });
    print(name, f);
    // A payment (create + confirm) and a read pair are two requests: compared with the ×2 route.
    scenarios.push({ name, unit, baseline: unit === 'payment' || unit === 'request pair' ? 'bare-https-x2' : 'bare-https', ...f });
    if (f.ok === 0) return;
    const events = (await outboxRows()) - rowsBefore;
    process.stdout.write(`${''.padEnd(44)} audit events: ${(events / (f.ok + f.errors)).toFixed(2)} per iteration (${events})\n`);
    const x2 = baselines.find((b) => b.id === 'bare-https-x2');
    if (x2 && unit === 'payment') process.stdout.write(`${''.padEnd(44)} total CPU per payment (gateway+vault+their PG backends) / bare ×2 CPU per iteration: ${(totalCpuMs(f) / totalCpuMs(x2)).toFixed(0)}×\n`);
  }
  function print(name: string, f: Figures) {
    const line = `${name.padEnd(44)} ${f.rps.toFixed(0).padStart(6)}/s   p50 ${(f.p50 ?? NaN).toFixed(1).padStart(6)} ms   p95 ${(f.p95 ?? NaN).toFixed(1).padStart(6)} ms   p99 ${(f.p99 ?? NaN).toFixed(1).padStart(6)} ms   (${f.ok} ok, ${f.errors} failed)`;
    process.stdout.write(`${line}\n`);
    if (f.ok === 0) return;
    const labels = Object.keys(f.cpuMsPerOp);
    const total = totalCpuMs(f);
    // The ceiling those processes alone set, with nothing else (client, Redis) on the cores.
    process.stdout.write(`${''.padEnd(44)} CPU per iteration: ${labels.map((label) => `${label} ${f.cpuMsPerOp[label]!.toFixed(2)} ms`).join(', ')}`
      + `${labels.length > 1 ? `; total ${total.toFixed(2)} ms` : ''}, so at most ${Math.round((cpus().length * 1000) / total)}/s on ${cpus().length} otherwise idle cores\n`);
  }

  process.stdout.write(`\n${CONCURRENCY} concurrent virtual clients, ${SECONDS} s per scenario, Node ${process.version}\n`);
  const echo = async () => {
    const res = await baseline.request({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"ping":1}' });
    await res.body.text();
    return res.statusCode === 200;
  };
  // Unreported warm-up of the bare route too: its first seconds (handshakes, JIT) are not its rate.
  const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
  await drive({ concurrency: CONCURRENCY, seconds: WARMUP_SECONDS, iteration: echo });
  await measureBaseline('bare-https', 'bare Fastify HTTPS POST (1 request)', echo);
  await measureBaseline('bare-https-x2', 'bare Fastify HTTPS POST ×2 (create+confirm shape)', async () => await echo() && echo());

  // Unreported warm-up: both flows run until V8 has optimised their code and every pool is full.
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, vu) => {
    const end = Date.now() + WARMUP_SECONDS * 1000;
    for (let n = 0; Date.now() < end; n++) await payOnce(clients[vu % clients.length]!, n % 2 ? 'saved' : 'entered', n).catch(() => undefined);
  }));
  await measure('payments: saved card (create + confirm)', 'payment', async (vu, n) => (await payOnce(clients[vu % clients.length]!, 'saved', n)).ok);
  await measure('payments: card entered (tokenize + create + confirm)', 'payment', async (vu, n) => (await payOnce(clients[vu % clients.length]!, 'entered', n)).ok);
  await measure('checkout session (merchant create + customer pay + confirm)', 'payment', async (vu) => checkoutOnce(clients[vu % clients.length]!));
  // SP-21: every read is recorded too, one INSERT each on top of the session check and the read.
  await measure('reads: GET /v1/me + GET /v1/payments (audited)', 'request pair', async (vu) => {
    const c = clients[vu % clients.length]!;
    return (await call('GET', '/v1/me', undefined, c.auth)).status === 200 && (await call('GET', '/v1/payments?limit=5', undefined, c.auth)).status === 200;
  });
  // Last, so the clients it adds do not change the tables the payments ran against.
  await measure('registration (SMS code + confirm + register, argon2id)', 'registration', async () => registerOnce());
  process.stdout.write('\ntarget on a 2-core machine: >= 300 completed payments/s with p99 <= 150 ms\n');
  return { baselines, scenarios };
}

/** `npm run bench:payments`'s figures, with the bare HTTPS baselines of the same run. */
export async function runPayments(): Promise<BenchPart> {
  try {
    return await run();
  } finally {
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runPayments();
