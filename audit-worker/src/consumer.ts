// The BullMQ side of the worker: each job names an event waiting in an outbox (job id = event
// id); the batcher stores many per transaction. Used by worker.ts, the tests and the benchmark.
import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from '../../lib/logger.js';
import type { Clock } from '../../lib/clock.js';
import { AUDIT_SOURCES, type AuditJob } from '../../lib/audit/outbox.js';
import { EventStore } from './store.js';
import { Batcher } from './batcher.js';
import type { AuditDatabase } from './database.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ConsumerOptions {
  db: Kysely<AuditDatabase>;
  connection: ConnectionOptions;
  queueName: string;
  clock: Clock;
  log: Logger;
  concurrency: number;
  batchSize: number;
  jobLockMs: number;
}

export function startConsumer(opts: ConsumerOptions): Worker<AuditJob> {
  const store = new EventStore(opts.db, opts.clock);
  const batcher = new Batcher((refs) => store.store(refs), opts.batchSize);
  const worker = new Worker<AuditJob>(opts.queueName, async (job) => {
    const source = job.data?.source;
    if (!AUDIT_SOURCES.includes(source) || !UUID.test(job.id ?? '')) throw new UnrecoverableError('malformed audit job');
    const outcome = await batcher.submit({ source, eventId: job.id! });
    if (typeof outcome === 'object') throw new UnrecoverableError(`poison audit event: ${outcome.poison}`);
    return outcome;
  }, {
    connection: opts.connection,
    concurrency: opts.concurrency,
    lockDuration: opts.jobLockMs,
    stalledInterval: opts.jobLockMs,
    // A job whose worker died is retried, not failed: its event is still in the outbox.
    maxStalledCount: 100,
  });
  worker.on('error', (err) => opts.log.warn({ err }, 'audit worker connection error'));
  worker.on('failed', (job, err) => {
    const final = !job || err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    // It stays in the failed set and its event in the outbox: reported here and on /healthz, never dropped.
    if (final) opts.log.error({ jobId: job?.id, err: { message: err.message } }, 'audit job failed for good; event kept in the outbox');
  });
  return worker;
}
