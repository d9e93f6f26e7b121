// `npm run audit:retention` (SP-21: kept 10 years, then removed whole). Drops each monthly
// partition whose whole month ended at least 10 years before the clock's now, through
// audit.drop_expired_partition (the database re-checks the age and the clock), and writes a
// signed record of what went: partitions, seq ranges, counts, and the hash of the last dropped
// record, from which audit:verify resumes the chain. Partitions follow recorded_at, which grows
// with seq, so what is dropped is always a prefix of the chain.
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { RetentionBody, Signer, SignedRetention } from '../../lib/audit/chain.js';
import type { AuditDatabase } from './database.js';

const KEEP_YEARS = 10;

export interface Partition {
  name: string;
  from: Date;
  to: Date;
}

export async function listPartitions(db: Kysely<AuditDatabase>): Promise<Partition[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'audit.events'::regclass order by c.relname`.execute(db);
  return rows.map(({ name }) => {
    const m = /^events_y(\d{4})m(\d{2})$/.exec(name);
    if (!m) throw new Error(`unexpected audit partition ${name}`);
    const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
    return { name, from, to: new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1)) };
  });
}

/** The partitions whose whole month lies more than 10 years before `now`. */
export function expired(partitions: Partition[], now: Date): Partition[] {
  const limit = new Date(now);
  limit.setUTCFullYear(limit.getUTCFullYear() - KEEP_YEARS);
  return partitions.filter((p) => p.to <= limit);
}

export type DoomedPartition = RetentionBody['dropped'][number];

/** What a partition holds: its seq range and count, and the hash of its last record (the new anchor). */
async function partitionStats(db: Kysely<AuditDatabase>, p: Partition): Promise<{ dropped: DoomedPartition; lastHash?: string }> {
  const { rows: [stats] } = await sql<{ first: number | null; last: number | null; n: number }>`
    select min(seq) as first, max(seq) as last, count(*)::int as n from audit.events
    where recorded_at >= ${p.from} and recorded_at < ${p.to}`.execute(db);
  const dropped = { partition: p.name, from: p.from.toISOString(), to: p.to.toISOString(), firstSeq: stats!.first, lastSeq: stats!.last, count: stats!.n };
  if (stats!.last === null) return { dropped };
  const { rows: [tail] } = await sql<{ hash: Buffer }>`
    select hash from audit.events where seq = ${stats!.last} and recorded_at >= ${p.from} and recorded_at < ${p.to}`.execute(db);
  return { dropped, lastHash: tail!.hash.toString('hex') };
}

/** `--dry-run`: what runRetention would drop now, changing nothing. */
export async function planRetention(db: Kysely<AuditDatabase>, clock: Clock): Promise<DoomedPartition[]> {
  const doomed = expired(await listPartitions(db), clock.now());
  const planned: DoomedPartition[] = [];
  for (const p of doomed) planned.push((await partitionStats(db, p)).dropped);
  return planned;
}

export async function runRetention(db: Kysely<AuditDatabase>, signer: Signer, clock: Clock): Promise<SignedRetention | undefined> {
  const now = clock.now();
  return db.transaction().execute(async (trx) => {
    const doomed = expired(await listPartitions(trx), now);
    if (doomed.length === 0) return undefined;
    const { rows: [prior] } = await sql<{ signed: SignedRetention }>`
      select signed from audit.retention_records order by id desc limit 1`.execute(trx);
    let anchorSeq = prior?.signed.anchorSeq ?? 0;
    let anchorHash = prior?.signed.anchorHash ?? Buffer.alloc(32).toString('hex');
    const dropped: RetentionBody['dropped'] = [];
    for (const p of doomed) {
      const stats = await partitionStats(trx, p);
      if (stats.lastHash !== undefined) {
        anchorSeq = stats.dropped.lastSeq!;
        anchorHash = stats.lastHash;
      }
      await sql`select audit.drop_expired_partition(${p.name}, ${now})`.execute(trx);
      dropped.push(stats.dropped);
    }
    const body: RetentionBody = { type: 'audit-retention-v1', at: now.toISOString(), dropped, anchorSeq, anchorHash };
    const signed: SignedRetention = { ...body, keyId: signer.keyId, signature: signer.sign(body) };
    await sql`insert into audit.retention_records (signed) values (${JSON.stringify(signed)}::jsonb)`.execute(trx);
    return signed;
  });
}
