// `npm run audit:verify` (SP-21): walks every record in seq order and every signed checkpoint
// and retention record, and names the first record that was altered, deleted, inserted or
// reordered. Every link and every signature is checked, not just the ends.
import type { KeyObject } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AuditEvent } from '../../lib/audit/event.js';
import type { AuditSource } from '../../lib/audit/outbox.js';
import {
  GENESIS_HASH, MerkleTree, recordHash, verifySigned, type SignedCheckpoint, type SignedRetention, type TrustedKeys,
} from '../../lib/audit/chain.js';
import type { AuditDatabase } from './database.js';

export type DamageKind = 'altered' | 'deleted' | 'inserted' | 'reordered' | 'signature';

export interface Damage {
  kind: DamageKind;
  seq: number;
  eventId?: string;
  detail: string;
}

export type VerifyResult =
  | { ok: true; count: number; firstSeq: number; lastSeq: number; checkpoints: number; unsigned: number }
  | { ok: false; damage: Damage; checked: number };

interface Row {
  seq: number;
  event_id: string;
  occurred_at: Date;
  recorded_at: Date;
  source: AuditSource;
  payload: AuditEvent;
  prev_hash: Buffer;
  hash: Buffer;
}

class Tampered extends Error {
  constructor(readonly damage: Damage) {
    super(damage.detail);
  }
}

const fail = (kind: DamageKind, seq: number, detail: string, eventId?: string): never => {
  throw new Tampered({ kind, seq, detail, ...(eventId ? { eventId } : {}) });
};

/**
 * The signed checkpoints with lo <= count < hi, from the database merged with (and checked
 * against) the external copy; read page by page, as ten years of them do not fit in memory.
 */
async function checkpointsIn(db: Kysely<AuditDatabase>, lo: number, hi: number, external: SignedCheckpoint[], publicKey: KeyObject | TrustedKeys): Promise<SignedCheckpoint[]> {
  const { rows } = await sql<{ signed: SignedCheckpoint }>`
    select signed from audit.checkpoints where count >= ${lo} and count < ${hi} order by count`.execute(db);
  const byCount = new Map(rows.map((r) => [r.signed.count, r.signed]));
  for (const cp of external) {
    if (cp.count < lo || cp.count >= hi) continue;
    const inDb = byCount.get(cp.count);
    if (inDb && inDb.signature !== cp.signature) fail('altered', cp.count, `checkpoint at seq ${cp.count} in the database differs from the external copy`);
    if (!inDb) byCount.set(cp.count, cp);
  }
  const all = [...byCount.values()].sort((a, b) => a.count - b.count);
  for (const cp of all) {
    if (!verifySigned(cp, publicKey)) fail('signature', cp.count, `checkpoint at seq ${cp.count} has no valid signature by a trusted audit key`);
  }
  return all;
}

async function lastCheckpointOf(db: Kysely<AuditDatabase>, external: SignedCheckpoint[], publicKey: KeyObject | TrustedKeys): Promise<SignedCheckpoint | undefined> {
  const { rows } = await sql<{ signed: SignedCheckpoint }>`select signed from audit.checkpoints order by count desc limit 1`.execute(db);
  const last = [rows[0]?.signed, ...external].reduce<SignedCheckpoint | undefined>((a, b) => (b && (!a || b.count > a.count) ? b : a), undefined);
  if (last && !verifySigned(last, publicKey)) fail('signature', last.count, `checkpoint at seq ${last.count} has no valid signature by a trusted audit key`);
  return last;
}

/** Why a record's prev_hash does not meet the hash before it. */
async function classifyBrokenLink(db: Kysely<AuditDatabase>, row: Row): Promise<never> {
  const { rows } = await sql<{ seq: number }>`select seq from audit.events where hash = ${row.prev_hash} limit 1`.execute(db);
  const parent = rows[0]?.seq;
  if (parent === undefined) {
    return fail('altered', row.seq - 1, `record seq ${row.seq - 1} was rewritten: record seq ${row.seq} chains to a hash no record has`);
  }
  if (parent === row.seq - 2) {
    return fail('inserted', row.seq - 1, `record seq ${row.seq - 1} was inserted: record seq ${row.seq} chains directly to seq ${parent}`);
  }
  if (parent >= row.seq) {
    return fail('reordered', row.seq, `record seq ${row.seq} (event ${row.payload?.id ?? row.event_id}) belongs after the record now at seq ${parent}: records were reordered`, row.event_id);
  }
  return fail('deleted', parent + 1, `records after seq ${parent} were deleted and the rest renumbered: record seq ${row.seq} chains to seq ${parent}`);
}

export async function verifyChain(
  db: Kysely<AuditDatabase>,
  publicKey: KeyObject | TrustedKeys,
  opts: { externalCheckpoints?: SignedCheckpoint[]; pageSize?: number } = {},
): Promise<VerifyResult> {
  let checked = 0;
  try {
    const { rows: retention } = await sql<{ signed: SignedRetention }>`select signed from audit.retention_records order by id`.execute(db);
    for (const r of retention) {
      if (!verifySigned(r.signed, publicKey)) fail('signature', r.signed.anchorSeq, 'a retention record has no valid signature by a trusted audit key');
    }
    const anchor = retention[retention.length - 1]?.signed;
    const anchorSeq = anchor?.anchorSeq ?? 0;
    let prev: Buffer = anchor ? Buffer.from(anchor.anchorHash, 'hex') : GENESIS_HASH;
    const external = opts.externalCheckpoints ?? [];
    let signedCount = 0;
    let leaves: Buffer[] = [];
    let leavesFrom = anchorSeq + 1;
    let expected = anchorSeq + 1;

    const { rows: [bounds] } = await sql<{ max: number | null }>`select max(seq) as max from audit.events`.execute(db);
    const maxSeq = bounds?.max ?? 0;
    const page = opts.pageSize ?? 5000;
    for (let lo = expected; lo <= maxSeq; lo += page) {
      const checkpoints = await checkpointsIn(db, lo, lo + page, external, publicKey);
      let nextCp = 0;
      const { rows } = await sql<Row>`
        select seq, event_id, occurred_at, recorded_at, source, payload, prev_hash, hash from audit.events
        where seq >= ${lo} and seq < ${lo + page} order by seq, recorded_at, event_id`.execute(db);
      for (const row of rows) {
        if (row.seq < expected) fail('inserted', row.seq, `two records carry seq ${row.seq}; event ${row.event_id} was inserted`, row.event_id);
        if (row.seq > expected) fail('deleted', expected, `records seq ${expected}..${row.seq - 1} were deleted`);
        if (!row.prev_hash.equals(prev)) await classifyBrokenLink(db, row);
        const hash = recordHash(prev, { seq: row.seq, recordedAt: row.recorded_at.toISOString(), source: row.source, event: row.payload });
        const columnsMatch = row.payload?.id === row.event_id && new Date(row.payload.occurredAt).getTime() === row.occurred_at.getTime();
        if (!hash.equals(row.hash) || !columnsMatch) {
          fail('altered', row.seq, `record seq ${row.seq} (event ${row.event_id}) was altered: its content no longer matches its hash`, row.event_id);
        }
        prev = row.hash;
        leaves.push(row.hash);
        checked++;
        expected++;
        const cp = checkpoints[nextCp];
        if (cp && cp.count === row.seq) {
          if (cp.lastHash !== row.hash.toString('hex')) {
            fail('altered', row.seq, `the chain was rewritten: the checkpoint signed at ${cp.at} for seq ${cp.count} names another hash`, row.event_id);
          }
          if (cp.fromSeq >= leavesFrom) {
            const root = new MerkleTree(leaves.slice(cp.fromSeq - leavesFrom)).root.toString('hex');
            if (root !== cp.merkleRoot) fail('altered', cp.count, `records seq ${cp.fromSeq}..${cp.count} do not match the Merkle root signed at ${cp.at}`);
          }
          leaves = [];
          leavesFrom = row.seq + 1;
          nextCp++;
          signedCount++;
        }
      }
    }
    const lastCp = await lastCheckpointOf(db, external, publicKey);
    if (lastCp && lastCp.count >= expected) {
      fail('deleted', expected, `records seq ${expected}..${lastCp.count} were deleted: the checkpoint signed at ${lastCp.at} covers ${lastCp.count} records`);
    }
    const { rows: [head] } = await sql<{ seq: number }>`select seq from audit.chain_head`.execute(db);
    if (head && head.seq >= expected) fail('deleted', expected, `records seq ${expected}..${head.seq} were deleted (the chain head is at ${head.seq})`);
    return { ok: true, count: checked, firstSeq: anchorSeq + 1, lastSeq: expected - 1, checkpoints: signedCount, unsigned: expected - 1 - Math.max(lastCp?.count ?? 0, anchorSeq) };
  } catch (err) {
    if (err instanceof Tampered) return { ok: false, damage: err.damage, checked };
    throw err;
  }
}
