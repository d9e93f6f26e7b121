// SP-21: every event written in a business transaction arrives exactly once, whatever happens to
// Redis or the worker in between (design invariant 3). Real PostgreSQL, real Redis servers,
// the real worker process.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { systemClock } from '../../lib/clock.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { AUDIT_EVENTS_PER_JOB, auditJobId, relayOnce, startOutboxRelay, type AuditJob } from '../../lib/audit/outbox.js';
import { assertNoEviction } from '../../lib/redis.js';
import { issueCertificate } from '../../lib/pki.js';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';
import { makeAuditEvent } from '../../lib/audit/event.js';
import { appendAuditEvent } from '../../lib/audit/outbox.js';
import { migratedDatabase, MIGRATIONS } from '../../test/support/database.js';
import { startProcess } from '../../test/support/processes.js';
import { testDataDir } from '../../test/support/pki.js';
import { TEST_REDIS_URL, uniqueName } from '../../test/support/redis.js';
import { startConsumer } from '../src/consumer.js';
import { verifyChain } from '../src/verify.js';
import { CHAIN_LOCK } from '../src/store.js';
import { appendEvents, dbAs, testPublicKey } from './support.js';
import { ownRedis } from './redis-server.js';
import { ownPostgres } from './own-postgres.js';

// Seven outages and crashes of real servers, one after another: ~3 minutes on a loaded 2-core
// machine, past the suite's 180 s per-file limit. The root test tells the runner its own limit.
t.setTimeout(420_000);

const log = pino({ level: 'silent' });

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function counts(db: Kysely<any>) {
  const { rows } = await sql<{ stored: number; distinct: number; maxSeq: number; waiting: number }>`
    select (select count(*)::int from audit.events) as stored, (select count(distinct event_id)::int from audit.events) as distinct,
           (select coalesce(max(seq), 0)::int from audit.events) as "maxSeq", (select count(*)::int from gateway.audit_outbox) as waiting`.execute(db);
  return rows[0]!;
}

/** A queue of its own on the shared test Redis, emptied and closed when the test ends. */
function testQueue(t: { teardown(fn: () => unknown): void }): Queue<AuditJob> {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue<AuditJob>(uniqueName('audit'), { connection });
  t.teardown(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  return queue;
}

t.test('SP-21 Redis stopped mid-flow: 100 actions taken during the outage arrive exactly once afterwards', async (t) => {
  const { url, db } = await migratedDatabase(t);
  const redis = await ownRedis(t);
  const queueName = uniqueName('audit');
  const connection = () => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    c.on('error', () => undefined);
    t.teardown(() => c.disconnect());
    return c;
  };
  const queue = new Queue<AuditJob>(queueName, { connection: connection() });
  queue.on('error', () => undefined);
  const relay = startOutboxRelay({ db, source: 'gateway', queue, log, intervalMs: 50, publishTimeoutMs: 500 });
  // Two worker instances on two pools: the chain lock must order them.
  const workers = [1, 2].map(() => startConsumer({
    db: dbAs(t, url, 'audit_writer'), connection: connection(), queueName, clock: systemClock, log,
    concurrency: 50, batchSize: 20, jobLockMs: 5000,
  }));
  t.teardown(async () => {
    await relay.stop();
    await Promise.all(workers.map((w) => w.close(true)));
    await queue.close();
  });

  await appendEvents(db, 10, { at: new Date() });
  await until('the first 10 events', async () => (await counts(db)).stored === 10);
  await redis.stop();
  await appendEvents(db, 100, { at: new Date() });
  await new Promise((r) => setTimeout(r, 1000));
  t.match(await counts(db), { stored: 10, waiting: 100 }, 'during the outage the events wait in the outbox');
  await redis.start();
  await until('the outbox to drain', async () => (await counts(db)).waiting === 0);
  t.same(await counts(db), { stored: 110, distinct: 110, maxSeq: 110, waiting: 0 }, 'exactly 100 more rows, gapless, no duplicate');
  t.match(await verifyChain(db, testPublicKey()), { ok: true, count: 110 }, 'the chain written by two workers verifies');

  // A row no producer could have written (appendAuditEvent refuses it) fails for good: it is kept
  // in the failed set and in the outbox, and reported, never dropped.
  const poisonId = uuidv7();
  await sql`insert into gateway.audit_outbox (event_id, payload, created_at)
            values (${poisonId}, ${JSON.stringify({ id: poisonId, pan: '4400430000000007' })}::jsonb, now())`.execute(db);
  await until('the poison job to fail', async () => (await queue.getJobCounts('failed')).failed === 1);
  t.equal((await queue.getJob(poisonId))?.failedReason?.startsWith('poison audit event'), true);
  t.match(await counts(db), { stored: 110, waiting: 1 }, 'not stored, still in the outbox');
});

t.test('SP-21 PostgreSQL crashed and restarted under load: every committed event stored exactly once, the chain verifies', async (t) => {
  const pg = await ownPostgres(t);
  const db = createDb<any>(createPool(pg.url, { max: 10, applicationName: 'test' }));
  t.teardown(() => db.destroy());
  for (const component of ['gateway', 'audit'] as const) await migrateToLatest(db, component, MIGRATIONS[component]);
  const queue = testQueue(t);
  const relay = startOutboxRelay({ db, source: 'gateway', queue, log, intervalMs: 50, publishTimeoutMs: 500 });
  const consumerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const worker = startConsumer({
    db: dbAs(t, pg.url, 'audit_writer'), connection: consumerConnection, queueName: queue.name,
    clock: systemClock, log, concurrency: 20, batchSize: 20, jobLockMs: 5000,
  });
  t.teardown(async () => {
    await relay.stop();
    await worker.close(true);
    consumerConnection.disconnect();
  });

  // Producers append one event per transaction without pause. A commit whose answer was lost in
  // the crash may or may not have happened: it is "attempted", never counted as committed.
  const committed = new Set<string>();
  const attempted = new Set<string>();
  let failures = 0;
  let producing = true;
  const produce = async () => {
    for (let i = 0; producing; i++) {
      const event = makeAuditEvent({ component: 'gateway', actor: { type: 'client', id: 'client-1' }, action: 'payment.confirm',
        outcome: 'success', targets: { clientId: 'client-1' }, details: { attempt: i } }, new Date());
      attempted.add(event.id);
      try {
        await db.transaction().execute((trx) => appendAuditEvent(trx, 'gateway', event));
        committed.add(event.id);
      } catch {
        failures += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const producers = [produce(), produce(), produce()];
  const stored = async () => (await sql<{ n: number }>`select count(*)::int as n from audit.events`.execute(db)).rows[0]!.n;
  await until('events flowing into the store', async () => (await stored()) >= 100);
  const beforeCrash = committed.size;
  await pg.crash();
  await new Promise((r) => setTimeout(r, 500));
  await pg.start();
  await until('producers committing again', async () => committed.size >= beforeCrash + 300, 120_000);
  producing = false;
  await Promise.all(producers);
  t.ok(failures > 0, `the crash was felt: ${failures} failed writes`);

  await until('the outbox to drain', async () => (await counts(db)).waiting === 0, 180_000);
  const c = await counts(db);
  const ids = new Set((await sql<{ event_id: string }>`select event_id from audit.events`.execute(db)).rows.map((r) => r.event_id));
  t.equal(c.distinct, c.stored, 'no event stored twice');
  t.equal(c.maxSeq, c.stored, 'seq gapless');
  t.same([...committed].filter((id) => !ids.has(id)), [], `every committed event stored (${committed.size})`);
  t.same([...ids].filter((id) => !attempted.has(id)), [], 'nothing stored that no producer wrote');
  t.match(await verifyChain(db, testPublicKey()), { ok: true, count: c.stored }, 'the chain verifies across the crash');
});

t.test('SP-21 the worker killed during a batch: no loss, no duplicate; health reports the backlog', async (t) => {
  const { url, db } = await migratedDatabase(t);
  const queueName = uniqueName('audit');
  const queueConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue<AuditJob>(queueName, { connection: queueConnection });
  const scratch = mkdtempSync(join(tmpdir(), 'audit-kill-'));
  t.teardown(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    queueConnection.disconnect();
    rmSync(scratch, { recursive: true, force: true });
  });
  const total = 1000;
  await appendEvents(db, total, { at: new Date() });
  const relay = startOutboxRelay({ db, source: 'gateway', queue, log, intervalMs: 50 });
  t.teardown(() => relay.stop());

  const writerUrl = new URL(url);
  writerUrl.searchParams.set('options', '-c role=audit_writer');
  const env = {
    NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: testDataDir(), AUDIT_DATABASE_URL: writerUrl.toString(), MIGRATE_ON_START: 'false',
    REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: queueName, AUDIT_HEALTH_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_JOB_LOCK_MS: '2000',
    AUDIT_BATCH_SIZE: '100', AUDIT_CHECKPOINT_INTERVAL_MS: '300', AUDIT_CHECKPOINT_FILE: join(scratch, 'checkpoints.jsonl'),
  };
  const first = await startProcess(t, 'audit-worker/src/worker.ts', env);
  // Kill it with batches committed behind it and one open in the database: once some batches are
  // stored, the test takes the chain lock, so the worker's next batch waits inside its transaction.
  await until('batches stored', async () => (await counts(db)).stored >= 200, 30_000, 10);
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('begin');
  await holder.query('select pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
  await until('a batch waiting on the chain lock', async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'audit-worker' and xact_start is not null
        and wait_event_type = 'Lock'`.execute(db);
    return rows[0]!.n > 0;
  }, 30_000);
  const atKill = await counts(db);
  await first.stop('SIGKILL');
  await holder.query('commit');
  const afterKill = await counts(db);
  t.equal(afterKill.stored, atKill.stored, 'the open batch was not committed');
  t.ok(afterKill.stored < total, `killed with ${afterKill.stored} of ${total} stored`);

  const second = await startProcess(t, 'audit-worker/src/worker.ts', env);
  await until('the rest', async () => (await counts(db)).waiting === 0, 60_000);
  t.same(await counts(db), { stored: total, distinct: total, maxSeq: total, waiting: 0 }, 'every event once, seq gapless');
  t.match(await verifyChain(db, testPublicKey()), { ok: true, count: total });

  const res = await fetch(`http://127.0.0.1:${second.ready.healthPort}/healthz`);
  const health = await res.json();
  t.equal(res.status, 200);
  t.match(health, { status: 'ok', queue: { waiting: Number, active: Number, failed: 0 } });
  t.notOk('outboxBacklog' in health, 'the worker reports no producer\'s outbox (each producer has its own gauge)');
  await until('a checkpoint', async () => {
    const h = await (await fetch(`http://127.0.0.1:${second.ready.healthPort}/healthz`)).json();
    return h.lastCheckpoint?.count === total;
  }, 10_000);
  await second.stop('SIGTERM');
});

t.test('SP-21 a job that failed for good (database down through every retry) is retried by the relay, its event never dropped', async (t) => {
  const { db } = await migratedDatabase(t);
  const queue = testQueue(t);
  const [event] = await appendEvents(db, 1, { at: new Date() });
  t.equal(await relayOnce({ db, source: 'gateway', queue, log }), 1);
  // A consumer whose every attempt fails, as one does while PostgreSQL is unreachable.
  const failingConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  t.teardown(() => failingConnection.disconnect());
  const failing = new Worker<AuditJob>(queue.name, async () => { throw new UnrecoverableError('database unreachable'); },
    { connection: failingConnection });
  await until('the job to fail for good', async () => (await queue.getJobCounts('failed')).failed === 1);
  await failing.close();
  t.equal(await relayOnce({ db, source: 'gateway', queue, log }), 0, 'not republished while recent');
  t.equal(await relayOnce({ db, source: 'gateway', queue, log, republishAfterMs: 0 }), 1, 'republished once stale');
  t.equal(await (await queue.getJob(event!.id))?.getState(), 'waiting', 'the failed job is back in the queue');
  t.match(await counts(db), { stored: 0, waiting: 1 }, 'its event waited in the outbox throughout');
});

t.test('SP-21 relay: 250 rows go out as jobs of up to AUDIT_EVENTS_PER_JOB event ids, each event named by exactly one job', async (t) => {
  const { db } = await migratedDatabase(t);
  const queue = testQueue(t);
  const events = await appendEvents(db, 250, { at: new Date() });
  t.equal(await relayOnce({ db, source: 'gateway', queue, log }), 250);
  const jobs = await queue.getJobs(['waiting']);
  t.equal(jobs.length, Math.ceil(250 / AUDIT_EVENTS_PER_JOB), 'a job per batch, not per event');
  t.ok(jobs.every((j) => j.data.source === 'gateway' && j.data.eventIds!.length <= AUDIT_EVENTS_PER_JOB && j.id === auditJobId(j.data.eventIds!)),
    'each job names its source and at most AUDIT_EVENTS_PER_JOB events, and is named by them');
  t.same(jobs.flatMap((j) => j.data.eventIds!).sort(), events.map((e) => e.id).sort(), 'every event in exactly one job');
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from gateway.audit_outbox where published_at is null`.execute(db);
  t.equal(rows[0]!.n, 0, 'every row marked published');
});

t.test('SP-21 overlapping, repeated, legacy and forged jobs: each event chained exactly once, a malformed job fails for good', async (t) => {
  const { url, db } = await migratedDatabase(t);
  const queue = testQueue(t);
  const [a, b, c, d, e] = (await appendEvents(db, 5, { at: new Date() })).map((ev) => ev.id);
  await queue.addBulk([
    { name: 'audit.batch', data: { source: 'gateway', eventIds: [a!, b!, c!] }, opts: { jobId: auditJobId([a!, b!, c!]) } },
    { name: 'audit.batch', data: { source: 'gateway', eventIds: [b!, c!, d!, b!] }, opts: { jobId: auditJobId([b!, c!, d!]) } },
    // Published before jobs carried batches: the job id names the event.
    { name: 'payment.confirm', data: { source: 'gateway' }, opts: { jobId: e! } },
    // Names an event no producer wrote: stores nothing.
    { name: 'audit.batch', data: { source: 'gateway', eventIds: [uuidv7(), a!] }, opts: { jobId: uuidv7() } },
  ]);
  const tooMany = uuidv7();
  await queue.add('audit.batch', { source: 'gateway', eventIds: Array.from({ length: AUDIT_EVENTS_PER_JOB + 1 }, () => uuidv7()) }, { jobId: tooMany });
  const notIds = uuidv7();
  await queue.add('audit.batch', { source: 'gateway', eventIds: ['not-an-id'] }, { jobId: notIds });
  const consumerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const worker = startConsumer({
    db: dbAs(t, url, 'audit_writer'), connection: consumerConnection, queueName: queue.name, clock: systemClock, log,
    concurrency: 10, batchSize: 3, jobLockMs: 5000,
  });
  t.teardown(async () => {
    await worker.close(true);
    consumerConnection.disconnect();
  });
  await until('the malformed jobs to fail', async () => (await queue.getJobCounts('failed')).failed === 2);
  await until('the outbox to drain', async () => (await counts(db)).waiting === 0);
  t.same(await counts(db), { stored: 5, distinct: 5, maxSeq: 5, waiting: 0 }, 'five events, each once, seq gapless');
  for (const id of [tooMany, notIds]) t.equal((await queue.getJob(id))?.failedReason, 'malformed audit job');
  t.match(await verifyChain(db, testPublicKey()), { ok: true, count: 5 });
});

t.test('SP-21 Redis with an eviction policy: the worker refuses to run in production', async (t) => {
  const redis = await ownRedis(t, 'allkeys-lru');
  const c = new Redis(redis.url);
  t.teardown(() => c.disconnect());
  await t.rejects(assertNoEviction(c), /noeviction/);
  // Production refuses the development CA before it reaches Redis: its export listener gets a bank CA's certificate.
  const pki = mkdtempSync(join(tmpdir(), 'pgw-bank-pki-'));
  t.teardown(() => rmSync(pki, { recursive: true, force: true }));
  const ca = issueCertificate({ commonName: 'Bank Internal CA', usage: 'ca', organization: 'Bank' });
  const server = issueCertificate({ commonName: 'audit', usage: 'server', issuer: ca, organization: 'Bank', ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(pki, 'ca.crt'), ca.certPem);
  writeFileSync(join(pki, 'audit.crt'), server.certPem);
  writeFileSync(join(pki, 'audit.key'), server.keyPem);
  await t.rejects(startProcess(t, 'audit-worker/src/worker.ts', {
    NODE_ENV: 'production', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', MIGRATE_ON_START: 'false',
    REDIS_URL: redis.url, AUDIT_HEALTH_PORT: '0', AUDIT_EXPORT_PORT: '0', INTERNAL_CA_FILE: join(pki, 'ca.crt'),
    AUDIT_EXPORT_TLS_CERT_FILE: join(pki, 'audit.crt'), AUDIT_EXPORT_TLS_KEY_FILE: join(pki, 'audit.key'),
  }, 20_000), /noeviction/);
});
