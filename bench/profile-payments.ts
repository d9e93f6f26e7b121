// Where a saved-card payment's CPU goes (issue 18 item 6): runs the real vault and gateway as
// bench/payments.ts does, with bench/profile-hooks.ts preloaded, warms them up, then profiles a
// phase of saved-card payments (create + confirm) and prints per process: CPU-ms per payment
// (/proc, profiler overhead included), SQL statements and Redis commands per payment by text, and the functions
// with the most self time. Settings: PROFILE_SECONDS (8), PROFILE_WARMUP_SECONDS (4),
// PROFILE_CONCURRENCY (8), PROFILE_MODE (saved | entered), PROFILE_DIR (where the .cpuprofile files
// are kept for a closer look; by default they go to a temporary folder removed at the end).
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { repoRoot } from '../lib/paths.js';
import { NO_SHEDDING } from '../test/support/gateway.js';
import type { Started } from '../test/support/processes.js';
import { randomCard } from '../test/support/cards.js';
import { smsReader } from '../test/support/sms-reader.js';
import { backendPids, cpuSeconds } from './cpu.js';
import { topSelfTime } from './cpuprofile-top.js';
import { startPaymentStack } from './payment-stack.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const WARMUP = Number(process.env.PROFILE_WARMUP_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.PROFILE_CONCURRENCY ?? 8);
const MODE = process.env.PROFILE_MODE === 'entered' ? 'entered' : 'saved';

const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };

async function run(): Promise<void> {
  const keep = process.env.PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'pgw-profile-out-'));
  if (!process.env.PROFILE_DIR) t.teardown(() => rmSync(keep, { recursive: true, force: true }));
  const execArgv = ['--import', 'tsx', '--import', join(repoRoot, 'bench/profile-hooks.ts')];
  // The profiler and the other load on this shared host slow the event loop: shedding would
  // refuse payments whose work is then counted for none.
  const { dir, ca, smsFile, vault, gateway, vaultDb, gatewayDb } = await startPaymentStack(t, {
    name: 'profile', execArgv,
    vaultEnv: { PROFILE_OUT: join(keep, 'vault') },
    gatewayEnv: { PROFILE_OUT: join(keep, 'gateway'), ...NO_SHEDDING },
  });
  const gw = new Pool(`https://localhost:${String(gateway.ready.publicPort)}`, { connections: CONCURRENCY, connect: { ca, servername: 'localhost' } });
  t.teardown(() => gw.close());
  const sms = smsReader(smsFile);
  async function call(method: 'POST', path: string, body: unknown, auth?: string) {
    const res = await gw.request({
      method, path, body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
  }
  const failures = new Map<string, number>();
  const failed = (what: string) => { failures.set(what, (failures.get(what) ?? 0) + 1); return false; };

  interface Client { phone: string; auth: string; cards: string[]; savedCardId: string }
  async function pay(c: Client, mode: 'saved' | 'entered', n: number): Promise<{ ok: boolean; cardId: string }> {
    const card = mode === 'saved' ? { cardId: c.savedCardId } : { number: c.cards[n % 3], expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvv: '123' };
    const created = await call('POST', '/v1/payments', { providerId: 'kcell', amount: { value: 150_000, currency: 'KZT' }, params: { phone: '+77011234567' }, card }, c.auth);
    if (created.status !== 201) return { ok: failed(`create ${created.status} ${String(created.json?.code)}`), cardId: '' };
    const confirmed = await call('POST', `/v1/payments/${created.json.id}/confirm`, { code: sms.code(c.phone) }, c.auth);
    if (confirmed.status !== 200 || confirmed.json.status !== 'succeeded') {
      return { ok: failed(`confirm ${confirmed.status} ${String(confirmed.json?.code ?? confirmed.json?.status)}`), cardId: '' };
    }
    return { ok: true, cardId: created.json.card.id };
  }
  async function newClient(i: number): Promise<Client> {
    const phone = `+7701${String(1_000_000 + i * 7919 + randomInt(1000)).slice(-7)}`;
    const v = await call('POST', '/v1/verifications', { phone });
    if (v.status !== 202) throw new Error(`verification ${v.status} ${JSON.stringify(v.json)}`);
    const c = await call('POST', `/v1/verifications/${v.json.verificationId}/confirm`, { code: sms.code(phone) });
    const password = 'Steppe-Wind-42';
    await call('POST', '/v1/registrations', { verificationToken: c.json.verificationToken, name: 'Profile Client', birthDate: '1990-05-17', password });
    const s = await call('POST', '/v1/sessions', { phone, password });
    const auth = `Bearer ${s.json.token}`;
    const cards = [randomCard('440043'), randomCard('440043'), randomCard('539545')];
    const first = await pay({ phone, auth, cards, savedCardId: '' }, 'entered', 0);
    if (!first.ok) throw new Error(`profile client's first payment failed: ${JSON.stringify([...failures])}`);
    return { phone, auth, cards, savedCardId: first.cardId };
  }
  const clients = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => newClient(i)));
  const loop = async (seconds: number) => {
    let ok = 0;
    const end = Date.now() + seconds * 1000;
    await Promise.all(clients.map(async (c) => {
      for (let n = 0; Date.now() < end; n++) if ((await pay(c, MODE, n).catch((err: Error) => ({ ok: failed(err.message) }))).ok) ok++;
    }));
    return ok;
  };
  await loop(WARMUP);
  failures.clear();

  const processes: Array<[string, Started, string]> = [['gateway', gateway, gatewayDb], ['vault', vault, vaultDb]];
  const backends = await Promise.all(processes.map(([, , db]) => backendPids(db)));
  const pids = processes.map(([, p], i) => [[p.child.pid!], backends[i]!] as const);
  for (const [, p] of processes) p.child.send({ type: 'profile' });
  const before = pids.map(([own, pg]) => [cpuSeconds(own), cpuSeconds(pg)]);
  const payments = await loop(SECONDS);
  const after = pids.map(([own, pg]) => [cpuSeconds(own), cpuSeconds(pg)]);
  for (const [, p] of processes) p.child.send({ type: 'profile' });
  const perPayment = (s: number) => ((s * 1000) / payments).toFixed(2);
  process.stdout.write(`${MODE}-card payments: ${payments} ok in ${SECONDS} s at concurrency ${CONCURRENCY}; failures ${JSON.stringify([...failures])}\n`);
  for (const [i, [name]] of processes.entries()) {
    const file = join(keep, name);
    while (!existsSync(`${file}.statements.json`)) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 200));
    const counts = JSON.parse(readFileSync(`${file}.statements.json`, 'utf8')) as Record<string, number>;
    const total = (redis: boolean) => Object.entries(counts).filter(([k]) => k.startsWith('redis ') === redis).reduce((a, [, n]) => a + n, 0);
    process.stdout.write(`\n== ${name}: CPU-ms per payment ${perPayment(after[i]![0]! - before[i]![0]!)} (its PostgreSQL backends ${perPayment(after[i]![1]! - before[i]![1]!)}); `
      + `${(total(false) / payments).toFixed(2)} SQL statements and ${(total(true) / payments).toFixed(2)} Redis commands per payment\n`);
    for (const [text, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) process.stdout.write(`${(n / payments).toFixed(2).padStart(6)}  ${text}\n`);
    process.stdout.write(`-- top self time\n${topSelfTime(`${file}.cpuprofile`, Number(process.env.PROFILE_TOP ?? 30))}\n`);
  }
}

try {
  await run();
} finally {
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}
