// Transactional outbox (SP-21): a producer writes its audit event in the same transaction as the
// state change it describes; the relay publishes rows to BullMQ (job id = event id); the
// audit-worker deletes the row in the transaction that stores the event. A lost Redis, a crashed
// relay or a duplicated job therefore never loses or doubles an event.
import { sql, type Kysely } from 'kysely';
import type { Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { assertAuditEvent, type AuditEvent } from './event.js';

export const AUDIT_SOURCES = ['gateway', 'vault'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

// Retries with back-off; a job that fails for good stays in BullMQ's failed set (and its row
// stays in the outbox, so the relay publishes it again after republishAfterMs).
export const AUDIT_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: false,
} as const;

export interface AuditJob {
  source: AuditSource;
  event: AuditEvent;
}

/** Inserts one event into `<source>.audit_outbox`; call it with the business transaction. */
export async function appendAuditEvent(db: Kysely<any>, source: AuditSource, event: AuditEvent): Promise<void> {
  assertAuditEvent(event);
  await sql`insert into ${sql.table(`${source}.audit_outbox`)} (event_id, payload, created_at)
            values (${event.id}, ${JSON.stringify(event)}::jsonb, ${event.occurredAt}::timestamptz)`.execute(db);
}

export interface RelayOptions {
  db: Kysely<any>;
  source: AuditSource;
  queue: Queue<AuditJob>;
  log: Logger;
  batchSize?: number;
  intervalMs?: number;
  /** A row published this long ago and still present was lost in Redis: publish it again. */
  republishAfterMs?: number;
}

/** Publishes one batch; returns how many rows it published. */
export async function relayOnce(opts: RelayOptions): Promise<number> {
  const { db, source, queue } = opts;
  const republishAfter = `${opts.republishAfterMs ?? 60_000} milliseconds`;
  return db.transaction().execute(async (trx) => {
    const rows = await sql<{ event_id: string; payload: AuditEvent }>`
      select event_id, payload from ${sql.table(`${source}.audit_outbox`)}
      where published_at is null or published_at < now() - ${republishAfter}::interval
      order by event_id
      limit ${opts.batchSize ?? 500}
      for update skip locked`.execute(trx);
    if (rows.rows.length === 0) return 0;
    await queue.addBulk(rows.rows.map((r) => ({
      name: r.payload.action,
      data: { source, event: r.payload },
      opts: { ...AUDIT_JOB_OPTIONS, jobId: r.event_id },
    })));
    await sql`update ${sql.table(`${source}.audit_outbox`)} set published_at = now()
              where event_id = any(${rows.rows.map((r) => r.event_id)}::uuid[])`.execute(trx);
    return rows.rows.length;
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
      if (published === 0 && !stopped) {
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
