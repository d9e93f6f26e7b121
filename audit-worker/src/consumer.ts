// The BullMQ side of the worker: each job names events waiting in an outbox (a batch of event
// ids; a job from before batches names its one event by its job id); the batcher stores many per
// transaction, across jobs. Used by worker.ts, the tests and the benchmark.
import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from '../../lib/logger.js';
import type { Clock } from '../../lib/clock.js';
import { AUDIT_EVENTS_PER_JOB, AUDIT_SOURCES, type AuditJob } from '../../lib/audit/outbox.js';
import { EventStore } from './store.js';
import { Batcher } from './batcher.js';
import type { AuditDatabase } from './database.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ConsumerOptions {
  db: Kysely<AuditDatabase>;
  connection: ConnectionOptions;
  queueName: string;
  /** BULLMQ_PREFIX; BullMQ's default `bull` when absent. */
  prefix?: string;
  clock: Clock;
  log: Logger;
  concurrency: number;
  batchSize: number;
  jobLockMs: number;
}

export function startConsumer(opts: ConsumerOptions): Worker<AuditJob> {
  const store = new EventStore(opts.db, opts.clock);
  const batcher = new Batcher(store, opts.batchSize);
  const worker = new Worker<AuditJob>(opts.queueName, async (job) => {
    const source = job.data?.source;
    const eventIds: unknown = job.data?.eventIds ?? [job.id];
    if (!AUDIT_SOURCES.includes(source) || !Array.isArray(eventIds) || eventIds.length === 0 || eventIds.length > AUDIT_EVENTS_PER_JOB
      || !eventIds.every((id) => typeof id === 'string' && UUID.test(id))) throw new UnrecoverableError('malformed audit job');
    const outcomes = await batcher.submit(eventIds.map((eventId: string) => ({ source, eventId })));
    const poison = outcomes.flatMap((o) => (typeof o === 'object' ? [o.poison] : []));
    // The job's other events are stored; it fails for good naming the poison, which stays in the outbox.
    if (poison.length > 0) throw new UnrecoverableError(`poison audit event: ${poison.join('; ')}`);
    return outcomes.includes('stored') ? 'stored' : 'duplicate';
  }, {
    connection: opts.connection,
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
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
