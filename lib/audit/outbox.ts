// Transactional outbox (SP-21): a producer writes its audit event in the same transaction as the
// state change it describes; the relay publishes rows to BullMQ, a job naming a batch of event ids
// (ids only); the audit-worker takes each event from its outbox row and
// deletes the row in the transaction that stores the event. A lost Redis, a crashed relay or a
// duplicated or overlapping job therefore never loses or doubles an event, and the job carries
// no event data at all (nothing in Redis to leak or forge).
import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { assertAuditEvent, type AuditEvent } from './event.js';

export const AUDIT_SOURCES = ['gateway', 'vault'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

// Retries with back-off; a job that fails for good stays in BullMQ's failed set (and its row
// stays in the outbox; after republishAfterMs the relay retries the failed job).
export const AUDIT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: false,
} as const;

export interface AuditJob {
  source: AuditSource;
  /** The events to store (jobs published before batches existed name their one event by the job id). */
  eventIds?: string[];
}

// BullMQ's own work per job (several Redis scripts, each a round trip that a loaded host delays)
// costs more than chaining an event: a job per event made the queue the pipeline's bottleneck.
// The worker still stores each event once, whichever jobs name it.
export const AUDIT_EVENTS_PER_JOB = 500;

/** Inserts one event into `<source>.audit_outbox`; call it with the business transaction. */
export async function appendAuditEvent(db: Kysely<any>, source: AuditSource, event: AuditEvent): Promise<void> {
  await appendAuditEvents(db, source, [event]);
}

/**
 * Inserts events into `<source>.audit_outbox` in ONE statement (a round trip per event is what a
 * busy transaction cannot afford); call it with the business transaction.
 */
export async function appendAuditEvents(db: Kysely<any>, source: AuditSource, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await sql`insert into ${sql.table(`${source}.audit_outbox`)} (event_id, payload, created_at) ${auditOutboxRows(events)}`.execute(db);
}

/**
 * The rows appendAuditEvents inserts, as a SELECT, for a statement that writes its events along
 * with the change they record (a data-modifying WITH) where a transaction would cost two more
 * round trips.
 */
export function auditOutboxRows(events: readonly AuditEvent[]): RawBuilder<unknown> {
  for (const event of events) assertAuditEvent(event);
  return sql`select * from unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => JSON.stringify(e))}::jsonb[],
                                   ${events.map((e) => e.occurredAt)}::timestamptz[])`;
}

export interface RelayOptions {
  db: Kysely<any>;
  source: AuditSource;
  queue: Queue<AuditJob>;
  log: Logger;
  batchSize?: number;
  /** Pause after a batch that was not full (the outbox is drained for now). */
  intervalMs?: number;
  /** A row published this long ago and still present was lost in Redis: publish it again. */
  republishAfterMs?: number;
  publishTimeoutMs?: number;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`audit queue did not answer in ${ms} ms`)), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// A tick costs about five round trips whatever its size: on a loaded host those waits, not the
// rows, set the relay's rate.
const RELAY_BATCH_SIZE = 2000;
type OutboxRow = { event_id: string; action?: string };

/**
 * A batch's job id: its one event's id, or a digest of all its ids. A publication that timed out
 * may still land once Redis is back: the next tick's batch of the same rows plus newer ones is
 * then another job, not a de-duplicated no-op that would leave the newer rows waiting to go stale.
 */
export function auditJobId(eventIds: readonly string[]): string {
  return eventIds.length === 1 ? eventIds[0]! : `batch-${createHash('sha256').update(eventIds.join(',')).digest('hex')}`;
}

/** Fresh rows go out in jobs of AUDIT_EVENTS_PER_JOB events. */
function batchJobs(source: AuditSource, rows: readonly OutboxRow[]) {
  const jobs = [];
  for (let i = 0; i < rows.length; i += AUDIT_EVENTS_PER_JOB) {
    const eventIds = rows.slice(i, i + AUDIT_EVENTS_PER_JOB).map((r) => r.event_id);
    jobs.push({ name: 'audit.batch', data: { source, eventIds },
      opts: { ...AUDIT_JOB_OPTIONS, jobId: auditJobId(eventIds) } });
  }
  return jobs;
}

// A stale row (published a while ago and still here) goes out alone, job id = event id: a job of
// that id that failed for good is then found and retried, and one that vanished is added again.
const singleJob = (source: AuditSource, r: OutboxRow) =>
  ({ name: r.action ?? 'audit', data: { source, eventIds: [r.event_id] }, opts: { ...AUDIT_JOB_OPTIONS, jobId: r.event_id } });

/** Publishes one batch; returns how many rows it published. */
export async function relayOnce(opts: RelayOptions): Promise<number> {
  const { db, source, queue } = opts;
  const table = sql.table(`${source}.audit_outbox`);
  const limit = opts.batchSize ?? RELAY_BATCH_SIZE;
  const republishAfter = `${opts.republishAfterMs ?? 60_000} milliseconds`;
  return db.transaction().execute(async (trx) => {
    // Two index-backed queries rather than one OR, so a deep backlog is not scanned every tick.
    // Fresh rows go out in batch jobs, which name no action: their payloads are not read.
    const fresh = await sql<OutboxRow>`
      select event_id from ${table} where published_at is null
      order by event_id limit ${limit} for update skip locked`.execute(trx);
    const stale = fresh.rows.length < limit ? (await sql<OutboxRow>`
      select event_id, coalesce(payload->>'action', 'audit') as action from ${table}
      where published_at < now() - ${republishAfter}::interval
      order by published_at limit ${limit - fresh.rows.length} for update skip locked`.execute(trx)).rows : [];
    const rows = [...fresh.rows, ...stale];
    if (rows.length === 0) return 0;
    // Redis down: give up this tick rather than hold the rows locked for the whole outage. If
    // the add still lands later, the worker finds its events gone or stores them once.
    await withTimeout(queue.addBulk([...batchJobs(source, fresh.rows), ...stale.map((r) => singleJob(source, r))]), opts.publishTimeoutMs ?? 5000);
    // A job id de-duplicates while the job exists: a stale row whose job failed for good (say the
    // database was down through every retry) is retried, one whose job vanished was re-added above.
    for (const r of stale) {
      const job = await queue.getJob(r.event_id);
      if (job && (await job.isFailed())) await job.retry('failed');
    }
    await sql`update ${table} set published_at = now()
              where event_id = any(${rows.map((r) => r.event_id)}::uuid[])`.execute(trx);
    return rows.length;
  });
}

export interface Relay {
  stop(): Promise<void>;
}

/** Polls the outbox until stopped; a Redis or database error is logged and retried next tick. */
export function startOutboxRelay(opts: RelayOptions): Relay {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      let published = 0;
      try {
        published = await relayOnce(opts);
      } catch (err) {
        opts.log.warn({ err }, 'audit outbox relay failed; events wait in the outbox');
      }
      // Only a full batch means more rows are waiting. After a partial one, the pause lets the
      // next batch fill: a steady trickle of events is then not published a few rows at a time,
      // each few paying a transaction, a commit and a Redis round trip.
      if (published < (opts.batchSize ?? RELAY_BATCH_SIZE) && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.intervalMs ?? 200);
          wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
