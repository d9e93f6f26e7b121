// `npm run bench:vault` — vault throughput over real mutual TLS with kept-alive connections, next
// to two baselines measured on this machine in this run:
//   * a bare mutual-TLS echo route: what TLS + HTTP + JSON cost on their own;
//   * PostgreSQL's single-row INSERT commit rate (pgbench, one INSERT per transaction, the same
//     client count): what one durable write costs — the physical ceiling of tokenize.
// Where pg_stat_statements is installed it also prints PostgreSQL statements per request (the
// vault's own plus its audit relay's): each is a round trip, and unlike a rate it does not move
// with whatever else the machine is running.
// The vault runs as its real process (vault/src/server.ts) with a fresh database and keys.
// Tokenize and authorize run twice: with the development key file and with the KEK in a SoftHSM2
// token (PKCS#11), printed as a ratio.
// Settings: BENCH_SECONDS (default 10), BENCH_CONCURRENCY (16), BENCH_DATABASE_URL (local test db), REDIS_URL.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Agent, request } from 'undici';
import { generateDevPki } from '../lib/pki.js';
import { repoRoot } from '../lib/paths.js';
import { createRedis } from '../lib/redis.js';
import { ensureDevSecrets } from '../scripts/dev-secrets.js';
import { drive, totalCpuMs, type Figures } from './measure.js';
import type { BenchPart, Scenario } from './results.js';
import { Pkcs11KeyProvider } from '../vault/src/crypto/pkcs11-key-provider.js';
import { Secret } from '../lib/secret.js';

const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function startChild(entry: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(entry, args, { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => { if (m?.type === 'ready') resolve({ child, port: m.port! }); });
    child.once('exit', (code) => reject(new Error(`${entry} exited ${code}`)));
  });
}

type Result = Figures & {
  /** PostgreSQL statements per request, where pg_stat_statements can tell. */
  statements?: number;
};

/** Keeps CONCURRENCY requests in flight for `seconds`; `next(i)` makes request i; `label` names the server process watched. */
async function run(
  next: (i: number) => Promise<boolean>, seconds = SECONDS, server?: [label: string, pid: number], stats?: () => Promise<number>,
): Promise<Result> {
  const statementsBefore = stats ? await stats() : undefined;
  const f = await drive({ concurrency: CONCURRENCY, seconds, iteration: (_, i) => next(i), ...(server ? { watched: { [server[0]]: [server[1]] } } : {}) });
  return stats ? { ...f, statements: ((await stats()) - statementsBefore!) / Math.max(1, f.ok) } : f;
}

const cpuUs = (r: Result) => totalCpuMs(r) * 1000;

/**
 * Counts the statements run in database `dbName` (all its sessions), or undefined when no
 * database on the server has pg_stat_statements (it needs shared_preload_libraries).
 */
async function statementCounter(adminUrl: string, dbName: string): Promise<{ count: () => Promise<number>; close: () => Promise<void> } | undefined> {
  for (const database of [new URL(adminUrl).pathname.slice(1), 'postgres']) {
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    try {
      await client.connect();
      const count = async () => Number((await client.query(
        'select coalesce(sum(calls), 0)::int8 as n from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = $1',
        [dbName])).rows[0].n);
      await count();
      return { count, close: () => client.end() };
    } catch {
      await client.end().catch(() => undefined);
    }
  }
  return undefined;
}

/**
 * A SoftHSM2 token store under `dir` with one token holding KEK version 1, generated inside it;
 * returns the vault settings that use it.
 */
function softHsmToken(dir: string): Record<string, string> {
  const tokens = join(dir, 'softhsm');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pinFile = join(dir, 'hsm-pin');
  writeFileSync(pinFile, 'bench-pin\n', { mode: 0o600 });
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', 'bench-pin', '--so-pin', 'bench-so-pin'],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' });
  process.env.SOFTHSM2_CONF = conf;
  const settings = { library: SOFTHSM_LIBRARY, tokenLabel: 'bench', pin: new Secret(Buffer.from('bench-pin')), keyLabel: 'vault-kek' };
  const provider = new Pkcs11KeyProvider(settings, { allowEmpty: true });
  provider.addVersion();
  provider.close();
  return {
    SOFTHSM2_CONF: conf, VAULT_KEY_PROVIDER: 'pkcs11', VAULT_PKCS11_LIBRARY: SOFTHSM_LIBRARY,
    VAULT_PKCS11_TOKEN_LABEL: 'bench', VAULT_PKCS11_PIN_FILE: pinFile, VAULT_PKCS11_KEY_LABEL: 'vault-kek',
  };
}

function pgbench(databaseUrl: string, dir: string): { tps: number; latencyMs: number } {
  const script = join(dir, 'insert.sql');
  writeFileSync(script, "insert into bench_insert (id, payload) values (gen_random_uuid(), repeat('x', 200));\n");
  const out = execFileSync('pgbench', ['-n', '-c', String(CONCURRENCY), '-j', '2', '-T', String(SECONDS), '-f', script, databaseUrl], { encoding: 'utf8' });
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
  return { tps, latencyMs };
}

const fmt = (r: Result) =>
  `${r.rps.toFixed(0).padStart(7)} /s   p50 ${(r.p50 ?? NaN).toFixed(2).padStart(6)} ms   p95 ${(r.p95 ?? NaN).toFixed(2).padStart(6)} ms   p99 ${(r.p99 ?? NaN).toFixed(2).padStart(6)} ms` +
  `${Object.keys(r.cpuMsPerOp).length === 0 ? '' : `   server CPU ${cpuUs(r).toFixed(0).padStart(4)} µs/req`}` +
  `${r.statements === undefined ? '' : `   ${r.statements.toFixed(2)} SQL/req`}${r.errors ? `   ERRORS ${r.errors}` : ''}`;

/** `npm run bench:vault`'s figures: tokenize and authorize (file and PKCS#11 key providers) and the bare mTLS echo of the same run. */
export async function runVault(): Promise<BenchPart> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vault-'));
  const pkiDir = join(dir, 'pki');
  generateDevPki(pkiDir);
  ensureDevSecrets(dir);
  const dbName = `bench_vault_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const children: ChildProcess[] = [];
  const auditQueue = `bench-vault-audit-${process.pid}`;
  try {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', LOG_LEVEL: 'warn', DATA_DIR: dir };
    const vaultEnv = (db: URL, extra: Record<string, string> = {}) => ({
      ...env, NODE_ENV: 'test', DATABASE_URL: db.toString(), REDIS_URL: REDIS_URL, AUDIT_QUEUE: auditQueue, VAULT_PORT: '0', ...extra,
    });
    const vault = await startChild(join(repoRoot, 'vault/src/server.ts'), [], vaultEnv(dbUrl));
    children.push(vault.child);
    // The same vault with its KEK in a SoftHSM2 token (PKCS#11), on a database of its own.
    await admin.query(`create database ${dbName}_hsm`);
    const hsmDbUrl = new URL(dbUrl);
    hsmDbUrl.pathname = `/${dbName}_hsm`;
    const hsmVault = await startChild(join(repoRoot, 'vault/src/server.ts'), [], vaultEnv(hsmDbUrl, softHsmToken(dir)));
    children.push(hsmVault.child);
    const echo = await startChild(join(repoRoot, 'bench/bare-mtls-server.ts'), [], env);
    children.push(echo.child);

    const agent = new Agent({
      connections: CONCURRENCY * 2, keepAliveTimeout: 60_000, pipelining: 1,
      connect: { ca: readFileSync(join(pkiDir, 'ca.crt')), cert: readFileSync(join(pkiDir, 'gateway.crt')), key: readFileSync(join(pkiDir, 'gateway.key')) },
    });
    const post = async (port: number, path: string, body: unknown, expect: number) => {
      const res = await request(`https://127.0.0.1:${port}${path}`, {
        method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      const text = await res.body.text();
      return res.statusCode === expect ? text : undefined;
    };
    const card = (i: number) => ({ pan: '4400430000000007', expMonth: 12, expYear: new Date().getUTCFullYear() + 3, clientRef: `bench-${i % 1000}` });

    // Warm-up of every route (connections, pools, lazily loaded modules, JIT), so one-time costs
    // do not land on the first measured run.
    const warmSeconds = Math.max(2, SECONDS / 3);
    await run((i) => post(echo.port, '/echo', card(i), 200).then(Boolean), warmSeconds);
    for (const v of [vault, hsmVault]) {
      const warmTokens: string[] = [];
      await run(async (i) => {
        const text = await post(v.port, '/v1/tokens', { ...card(i), clientRef: 'warm' }, 201);
        if (text) warmTokens.push(JSON.parse(text).token);
        return text !== undefined;
      }, warmSeconds);
      await run(async (i) => (await post(v.port, '/v1/authorizations', {
        token: warmTokens[i % warmTokens.length], clientRef: 'warm', cvv: '123', amount: { value: 1000, currency: 'KZT' },
        merchant: 'bench', paymentRef: `warm-${i}`,
      }, 200)) !== undefined, warmSeconds);
    }

    const measure = async (v: { child: ChildProcess; port: number }, stats?: () => Promise<number>) => {
      const tokens: Array<{ token: string; clientRef: string }> = [];
      const tokenize = await run(async (i) => {
        const text = await post(v.port, '/v1/tokens', card(i), 201);
        if (text) tokens.push({ token: JSON.parse(text).token, clientRef: card(i).clientRef });
        return text !== undefined;
      }, SECONDS, ['vault', v.child.pid!], stats);
      const authorize = await run(async (i) => {
        const { token, clientRef } = tokens[i % tokens.length]!;
        return (await post(v.port, '/v1/authorizations', {
          token, clientRef, cvv: '123', amount: { value: 1000, currency: 'KZT' }, merchant: 'bench', paymentRef: `bench-${i}`,
        }, 200)) !== undefined;
      }, SECONDS, ['vault', v.child.pid!], stats);
      return { tokenize, authorize };
    };
    const stats = await statementCounter(ADMIN_URL, dbName);
    const load = loadavg()[0]!;
    const echoResult = await run((i) => post(echo.port, '/echo', card(i), 200).then(Boolean), SECONDS, ['server', echo.child.pid!]);
    const { tokenize, authorize } = await measure(vault, stats?.count);
    const hsm = await measure(hsmVault);
    await agent.close();
    await stats?.close();

    const benchDb = new pg.Client({ connectionString: dbUrl.toString() });
    await benchDb.connect();
    await benchDb.query('create table bench_insert (id uuid primary key, payload text not null)');
    await benchDb.end();
    const base = pgbench(dbUrl.toString(), dir);

    const say = (line: string) => process.stdout.write(`${line}\n`);
    say(`vault benchmark: ${SECONDS} s per run, ${CONCURRENCY} requests in flight over ${CONCURRENCY} kept-alive mTLS connections`);
    say(`  machine: ${cpus().length} CPUs, load average ${load.toFixed(1)} when the runs started (other work shares the CPUs)`);
    say(`  mTLS echo baseline  ${fmt(echoResult)}`);
    say(`  tokenize            ${fmt(tokenize)}`);
    say(`  authorize           ${fmt(authorize)}`);
    say(`  tokenize  (PKCS#11) ${fmt(hsm.tokenize)}`);
    say(`  authorize (PKCS#11) ${fmt(hsm.authorize)}`);
    say(`  PKCS#11 / file provider: tokenize ${(hsm.tokenize.rps / tokenize.rps).toFixed(2)}x, authorize ${(hsm.authorize.rps / authorize.rps).toFixed(2)}x` +
      `; server CPU per request ${(cpuUs(hsm.tokenize) / cpuUs(tokenize)).toFixed(2)}x, ${(cpuUs(hsm.authorize) / cpuUs(authorize)).toFixed(2)}x`);
    say(`  pgbench 1-INSERT    ${base.tps.toFixed(0).padStart(7)} tx/s  avg ${base.latencyMs.toFixed(2)} ms (${CONCURRENCY} clients)`);
    say(`  tokenize / pgbench commit ceiling: ${(100 * tokenize.rps / base.tps).toFixed(0)} %;  tokenize / echo: ${(100 * tokenize.rps / echoResult.rps).toFixed(0)} %`);
    say(`  one vault core sustains ~${(1e6 / cpuUs(tokenize)).toFixed(0)} tokenize/s and ~${(1e6 / cpuUs(authorize)).toFixed(0)} authorize/s by CPU`);
    const vaultScenario = (name: string, r: Result): Scenario => ({ name, unit: 'request', baseline: 'bare-mtls', ...r });
    return {
      baselines: [{ id: 'bare-mtls', name: 'bare Fastify mutual-TLS POST', ...echoResult }],
      scenarios: [vaultScenario('vault: tokenize (file key)', tokenize), vaultScenario('vault: authorize (file key)', authorize),
        vaultScenario('vault: tokenize (PKCS#11 key)', hsm.tokenize), vaultScenario('vault: authorize (PKCS#11 key)', hsm.authorize)],
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    // The audit events the run published are benchmark litter: remove the queue.
    const connection = createRedis(REDIS_URL, { forWorker: true });
    const queue = new Queue(auditQueue, { connection });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await connection.quit();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.query(`drop database if exists ${dbName}_hsm with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runVault();
