// `npm run bench:audit` — audit delivery end to end (SP-21): producers write events into the
// outbox in their own transactions; the relay publishes them to BullMQ; the real audit-worker
// process chains them into audit.events. Prints:
//   baseline   outbox inserts/s alone (one event per transaction, as business transactions do)
//   bullmq     BullMQ alone, one job per event, no database (bullmq-alone.ts): the pipeline's floor
//   pipeline   events/s chained while draining a bulk-written backlog (BENCH_BACKLOG, 20,000)
//   end to end events/s chained while producers write at full speed
//   outage     Redis stopped for BENCH_OUTAGE_S seconds (default 60) while producers keep the
//              measured rate (capped at 5,000/s); then the backlog's drain time once Redis is back.
// Uses its own database on DATABASE_URL's server (default 127.0.0.1:5432) and its own Redis.
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { makeAuditEvent } from '../lib/audit/event.js';
import { appendAuditEvent, startOutboxRelay, type AuditJob } from '../lib/audit/outbox.js';
import { repoRoot } from '../lib/paths.js';
import { generateDevPki, issueCertificate } from '../lib/pki.js';
import { ensureDevSecrets } from '../scripts/dev-secrets.js';
import { freePort } from '../test/support/net.js';
import { costProbe } from './cost.js';
import { BULLMQ_ALONE_CONCURRENCY, measureBullmqAlone } from './bullmq-alone.js';
import { ratioTo, type BenchPart } from './results.js';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const OUTAGE_S = Number(process.env.BENCH_OUTAGE_S ?? 60);
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 32);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function admin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try { await c.query(q); } finally { await c.end(); }
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  return sleep(300).then(() => child);
}

let n = 0;
async function produce(db: Kysely<any>, until: () => boolean, perSecond = Infinity): Promise<number> {
  const start = Date.now();
  let made = 0;
  await Promise.all(Array.from({ length: PRODUCERS }, async () => {
    while (!until()) {
      if (made >= ((Date.now() - start) / 1000) * perSecond) { await sleep(2); continue; }
      made++;
      const event = makeAuditEvent({
        component: 'gateway', actor: { type: 'client', id: `c-${n % 1000}` }, action: 'payment.confirm', outcome: 'success',
        targets: { clientId: `c-${n % 1000}`, paymentId: `p-${n++}` }, ip: '10.1.2.3', requestId: `r-${n}`,
      }, new Date());
      await db.transaction().execute((trx) => appendAuditEvent(trx, 'gateway', event));
    }
  }));
  return made;
}

const stored = async (db: Kysely<any>) => (await sql<{ seq: number }>`select seq from audit.chain_head`.execute(db)).rows[0]!.seq;
const waiting = async (db: Kysely<any>) => (await sql<{ n: number }>`select count(*)::int as n from gateway.audit_outbox`.execute(db)).rows[0]!.n;

/**
 * `npm run bench:audit`'s figures: the pipeline draining a backlog and end to end, against BullMQ
 * alone (one job per event) on the same Redis in the same run. `outageSeconds` 0 leaves out the
 * Redis outage phase.
 */
export async function runAudit(outageSeconds = OUTAGE_S): Promise<BenchPart> {
  let part: BenchPart | undefined;
  const name = `bench_audit_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDb<any>(createPool(url.toString(), { max: PRODUCERS + 4, applicationName: 'bench' }));
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-audit-'));
  generateDevPki(join(dataDir, 'pki'));
  // The worker runs as in production, which refuses the development CA: its export listener gets a
  // certificate from a CA of the bank's kind instead (the bench never calls that listener).
  const bankCa = issueCertificate({ commonName: 'Bank Internal CA', usage: 'ca', organization: 'Bank' });
  const exportCert = issueCertificate({ commonName: 'audit', usage: 'server', issuer: bankCa, organization: 'Bank', ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(dataDir, 'pki', 'ca.crt'), bankCa.certPem);
  writeFileSync(join(dataDir, 'pki', 'audit.crt'), exportCert.certPem);
  writeFileSync(join(dataDir, 'pki', 'audit.key'), exportCert.keyPem);
  ensureDevSecrets(dataDir);
  let worker: ChildProcess | undefined;
  let redis: ChildProcess | undefined;
  try {
    for (const c of ['gateway', 'vault', 'audit']) await migrateToLatest(db, c, join(repoRoot, c === 'audit' ? 'audit-worker' : c, 'src', 'migrations'));

    // Baseline: the producers' own cost, nothing consuming.
    let stop = Date.now() + 5000;
    const baseline = await produce(db, () => Date.now() > stop);
    console.log(`baseline   outbox inserts, one event per transaction, ${PRODUCERS} producers: ${Math.round(baseline / 5)} events/s`);

    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const alone = await measureBullmqAlone(redisUrl, redis.pid!, BACKLOG, BULLMQ_ALONE_CONCURRENCY);
    const aloneMs = alone.cpuMsPerJob.node + alone.cpuMsPerJob.redis;
    console.log(`bullmq     one job per event, no database, concurrency ${BULLMQ_ALONE_CONCURRENCY}: add ${Math.round(alone.addPerSecond)} jobs/s, process ${Math.round(alone.processPerSecond)} jobs/s; `
      + `CPU-ms/job node ${alone.cpuMsPerJob.node.toFixed(3)}, redis ${alone.cpuMsPerJob.redis.toFixed(3)}, so at most ${Math.round((cpus().length * 1000) / aloneMs)} jobs/s on ${cpus().length} otherwise idle cores`);
    const writerUrl = new URL(url);
    writerUrl.searchParams.set('options', '-c role=audit_writer');
    // The worker runs with the young-generation size deploy/systemd gives it.
    worker = fork(join(repoRoot, 'audit-worker/src/worker.ts'), [], {
      execArgv: ['--max-semi-space-size=64', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'error', DATA_DIR: dataDir, AUDIT_DATABASE_URL: writerUrl.toString(),
        MIGRATE_ON_START: 'false', REDIS_URL: redisUrl, AUDIT_HEALTH_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_CHECKPOINT_INTERVAL_MS: '10000',
        AUDIT_CHECKPOINT_FILE: join(dataDir, 'checkpoints.jsonl'),
        ...Object.fromEntries(['AUDIT_WORKER_CONCURRENCY', 'AUDIT_BATCH_SIZE'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))) },
    });
    await new Promise<void>((resolve) => worker!.on('message', (m: { type?: string }) => { if (m?.type === 'ready') resolve(); }));
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    connection.on('error', () => undefined);
    const queue = new Queue<AuditJob>('audit-events', { connection });
    queue.on('error', () => undefined);
    // Statement counts need pg_stat_statements in shared_preload_libraries; without it they are left out.
    const countStatements = await sql`create extension if not exists pg_stat_statements`.execute(db)
      .then(() => sql`select 1 from pg_stat_statements limit 1`.execute(db)).then(() => true, () => false);
    const cost = costProbe({ db, database: name, countStatements, redis: () => connection, pids: () => ({ 'bench (relay)': process.pid, worker: worker!.pid!, redis: redis!.pid! }) });

    // Pipeline capacity: the baseline's rows plus a bulk-written backlog, all in the outbox before
    // the relay starts (writing them is the producers' work, measured above), drained with no producer running.
    for (let i = 0; i < BACKLOG; i += 1000) {
      const chunk = Array.from({ length: 1000 }, (_, j) => makeAuditEvent({
        component: 'gateway', actor: { type: 'client', id: `c-${j}` }, action: 'payment.confirm', outcome: 'success', targets: { clientId: `c-${j}`, paymentId: `b-${i + j}` },
      }, new Date()));
      await sql`insert into gateway.audit_outbox (event_id, payload, created_at)
        select * from unnest(${chunk.map((e) => e.id)}::uuid[], ${chunk.map((e) => JSON.stringify(e))}::jsonb[], ${chunk.map((e) => e.occurredAt)}::timestamptz[])`.execute(db);
    }
    await cost.start();
    let t0 = Date.now();
    const relay = startOutboxRelay({ db, source: 'gateway', queue, log, intervalMs: 20, publishTimeoutMs: 1000 });
    // Polls the one-row chain head, not count(*) of the outbox: the bench must not take the CPU it measures.
    while ((await stored(db)) < baseline + BACKLOG) await sleep(50);
    const drained = await stored(db);
    const drainRate = drained / ((Date.now() - t0) / 1000);
    console.log(`pipeline   outbox → queue → worker → chain, backlog of ${drained} drained: ${Math.round(drainRate)} events/s`);
    const drainCost = await cost.report(drained);
    console.log(`  cost     ${drainCost.line}`);
    const aloneFigures = { rps: alone.processPerSecond, p50: null, p95: null, p99: null, ok: BACKLOG, errors: 0, cpuMsPerOp: { node: alone.cpuMsPerJob.node, redis: alone.cpuMsPerJob.redis } };
    const pipelineFigures = { rps: drainRate, p50: null, p95: null, p99: null, ok: drained, errors: 0, cpuMsPerOp: drainCost.cpuMsPerEvent };
    const ratio = ratioTo(pipelineFigures, aloneFigures);
    console.log(`  ratio    pipeline / BullMQ alone (one job per event), same run: ${ratio.rps.toFixed(2)}× the rate, ${ratio.cpu?.toFixed(2)}× the CPU per event`);
    part = {
      baselines: [{ id: 'bullmq-alone', name: 'BullMQ alone, one job per event, no database', ...aloneFigures }],
      scenarios: [{ name: 'audit pipeline: outbox → BullMQ → worker → hash chain', unit: 'event', baseline: 'bullmq-alone', ...pipelineFigures }],
    };

    // End to end with producers running.
    const before = await stored(db);
    await cost.start();
    t0 = Date.now();
    stop = t0 + SECONDS * 1000;
    const made = await produce(db, () => Date.now() > stop);
    while ((await stored(db)) < before + made) await sleep(20);
    const e2eRate = Math.round(made / ((Date.now() - t0) / 1000));
    console.log(`end to end ${made} events written and chained in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${e2eRate} events/s`);
    console.log(`  cost     ${(await cost.report(made)).line} (bench includes the producers)`);

    // A Redis outage at that rate.
    if (outageSeconds > 0) {
      const rate = Math.min(e2eRate, 5000);
      const atOutage = await stored(db);
      redis.kill('SIGKILL');
      t0 = Date.now();
      stop = t0 + outageSeconds * 1000;
      const duringOutage = await produce(db, () => Date.now() > stop, rate);
      const backlog = await waiting(db);
      redis = await startRedis(redisPort);
      const back = Date.now();
      while ((await stored(db)) < atOutage + duringOutage || (await waiting(db)) > 0) await sleep(50);
      const drainS = (Date.now() - back) / 1000;
      console.log(`outage     Redis down ${outageSeconds} s at ${rate} events/s: backlog ${backlog} events, drained in ${drainS.toFixed(1)} s (${Math.round(backlog / drainS)} events/s), none lost: ${(await stored(db)) === atOutage + duringOutage}`);
    }
    await relay.stop();
    await queue.close();
    connection.disconnect();
    console.log(`machine    ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared with other processes); target ≥ 5000 events/s`);
  } finally {
    worker?.kill('SIGTERM');
    await sleep(500);
    redis?.kill('SIGKILL');
    await db.destroy();
    await admin(`drop database if exists ${name} with (force)`);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return part!;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  await runAudit();
  process.exit(0);
}
