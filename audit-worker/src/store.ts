// The sequencer (SP-21). Reads a batch's events from their outbox rows and checks them (no
// lock held: the outbox, written in the producer's business transaction, is the source of
// truth, so a job that is retried, duplicated or forged in Redis can store nothing twice or new),
// then stores them in one PostgreSQL transaction:
//   1. take the chain lock (pg_advisory_xact_lock): one sequencer at a time, however many
//      worker instances run, so seq is gapless and every record chains to the one before;
//   2. delete the events' outbox rows: only the events whose row this delete removes are stored;
//   3. append the records with their hashes and move the chain head.
// Either all of it commits or none does: an event is in the outbox or stored once, never both.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { assertAuditEvent, type AuditEvent } from '../../lib/audit/event.js';
import { AUDIT_SOURCES, type AuditSource } from '../../lib/audit/outbox.js';
import { recordHashOfCanonicalEvent } from '../../lib/audit/chain.js';
import { canonicalJson } from '../../lib/audit/canonical-json.js';
import type { AuditDatabase } from './database.js';

// The chain lock every worker instance takes (checkpoint.ts uses the next key); 0x61756474 = "audt".
export const CHAIN_LOCK = 0x61756474;

export interface EventRef {
  source: AuditSource;
  eventId: string;
}

export type StoreOutcome = 'stored' | 'duplicate' | { poison: string };

export interface ChainHead {
  seq: number;
  hash: Buffer;
  recordedAt: Date;
}

export async function lockChain(trx: Transaction<AuditDatabase>): Promise<ChainHead> {
  await sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`.execute(trx);
  const { rows } = await sql<{ seq: number; hash: Buffer; recorded_at: Date }>`
    select seq, hash, recorded_at from audit.chain_head`.execute(trx);
  const head = rows[0]!;
  return { seq: head.seq, hash: head.hash, recordedAt: head.recorded_at };
}

const monthOf = (d: Date) => d.toISOString().slice(0, 7);

/** A batch read and checked before the chain lock: each event with its RFC 8785 form, or why it is poison. */
export interface PreparedBatch {
  refs: EventRef[];
  events: Map<string, { source: AuditSource; event: AuditEvent; canonical: string }>;
  poison: Map<string, string>;
}

/** Stores a batch; returns each ref's outcome in order. Throws (nothing stored) on a database error. */
export class EventStore {
  #months = new Set<string>();
  constructor(private readonly db: Kysely<AuditDatabase>, private readonly clock: Clock) {}

  async #ensurePartition(at: Date): Promise<void> {
    if (this.#months.has(monthOf(at))) return;
    await sql`select audit.ensure_partition(${at})`.execute(this.db);
    this.#months.add(monthOf(at));
  }

  async store(refs: EventRef[]): Promise<StoreOutcome[]> {
    return this.commit(await this.prepare(refs));
  }

  /**
   * Reads and checks the batch's outbox rows outside any lock, so the batcher can prepare the
   * next batch while this one commits: the JSON work then runs beside PostgreSQL's instead of
   * holding the chain. The events stored are the ones read here (hashed and inserted as read);
   * the delete under the lock still decides which of them are stored, once.
   */
  async prepare(refs: EventRef[]): Promise<PreparedBatch> {
    const events: PreparedBatch['events'] = new Map();
    const poison = new Map<string, string>();
    for (const source of AUDIT_SOURCES) {
      const ids = [...new Set(refs.filter((r) => r.source === source).map((r) => r.eventId))];
      if (ids.length === 0) continue;
      const { rows } = await sql<{ event_id: string; payload: unknown }>`
        select event_id, payload from ${sql.table(`${source}.audit_outbox`)} where event_id = any(${ids}::uuid[])`.execute(this.db);
      for (const row of rows) {
        try {
          assertAuditEvent(row.payload);
          if (row.payload.id !== row.event_id) throw new Error('payload id differs from the outbox row');
          events.set(row.event_id, { source, event: row.payload, canonical: canonicalJson(row.payload) });
        } catch (err) {
          poison.set(row.event_id, (err as Error).message);
        }
      }
    }
    return { refs, events, poison };
  }

  /** Chains and stores the prepared events still in the outbox, in one transaction under the chain lock. */
  async commit(batch: PreparedBatch): Promise<StoreOutcome[]> {
    // A malformed row is never deleted: it stays in the outbox, reported, while the rest is stored.
    const outcomes = new Map<string, StoreOutcome>([...batch.poison].map(([id, reason]) => [id, { poison: reason }]));
    if (batch.events.size > 0) await this.#append(batch, outcomes);
    return batch.refs.map((r) => outcomes.get(r.eventId) ?? 'duplicate');
  }

  async #append(batch: PreparedBatch, outcomes: Map<string, StoreOutcome>): Promise<void> {
    const now = this.clock.now();
    await this.#ensurePartition(now);
    await this.db.transaction().execute(async (trx) => {
      const head = await lockChain(trx);
      // Time never runs backwards along the chain, whichever instance's clock is behind.
      const recordedAt = now > head.recordedAt ? now : head.recordedAt;
      if (monthOf(recordedAt) !== monthOf(now)) await this.#ensurePartition(recordedAt);
      const taken: string[] = [];
      for (const source of AUDIT_SOURCES) {
        const ids = [...batch.events].filter(([, e]) => e.source === source).map(([id]) => id);
        if (ids.length === 0) continue;
        // The delete decides: a concurrent batch holding the same events waits for the chain
        // lock before reaching here, then finds them gone and reports them as duplicates.
        const { rows } = await sql<{ event_id: string }>`
          delete from ${sql.table(`${source}.audit_outbox`)} where event_id = any(${ids}::uuid[]) returning event_id`.execute(trx);
        taken.push(...rows.map((r) => r.event_id));
      }
      if (taken.length === 0) return;
      let prev = head.hash;
      const at = recordedAt.toISOString();
      const cols = { seq: [] as number[], id: [] as string[], occurred: [] as string[], source: [] as string[], payload: [] as string[], prev: [] as string[], hash: [] as string[] };
      taken.forEach((id, i) => {
        const { source, event, canonical } = batch.events.get(id)!;
        const seq = head.seq + 1 + i;
        const hash = recordHashOfCanonicalEvent(prev, { seq, recordedAt: at, source, event: canonical });
        cols.seq.push(seq);
        cols.id.push(event.id);
        cols.occurred.push(event.occurredAt);
        cols.source.push(source);
        cols.payload.push(canonical);
        cols.prev.push(`\\x${prev.toString('hex')}`);
        cols.hash.push(`\\x${hash.toString('hex')}`);
        prev = hash;
        outcomes.set(event.id, 'stored');
      });
      await sql`insert into audit.events (seq, event_id, occurred_at, recorded_at, source, payload, prev_hash, hash)
        select s, i, o, ${at}::timestamptz, src, p::jsonb, ph, h
        from unnest(${cols.seq}::bigint[], ${cols.id}::uuid[], ${cols.occurred}::timestamptz[], ${cols.source}::text[],
                    ${cols.payload}::text[], ${cols.prev}::bytea[], ${cols.hash}::bytea[]) as t(s, i, o, src, p, ph, h)`.execute(trx);
      await sql`update audit.chain_head set seq = ${head.seq + taken.length}, hash = ${prev}, recorded_at = ${at}::timestamptz`.execute(trx);
    });
  }
}
