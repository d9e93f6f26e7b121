// The investigation export (SP-20): a client's or a payment's audit trail for a time range as
// JSON Lines that an investigator verifies offline with `npm run audit:verify -- --export FILE`
// and the published public key. Line 1 describes the export; then each signed checkpoint the
// records need ({type: 'checkpoint', checkpoint}); then each record with its chain hash and a Merkle audit path to a checkpoint.
// A record newer than the last checkpoint carries `proof: null` (chained, not yet signed).
import type { KeyObject } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AuditEvent } from './event.js';
import type { AuditSource } from './outbox.js';
import { MerkleTree, recordHash, verifyMerklePath, verifySigned, type SignedCheckpoint } from './chain.js';

export type ExportSubject = { clientId: string } | { paymentId: string };

export interface ExportHeader {
  type: 'audit-export-v1';
  subject: ExportSubject;
  from: string;
  to: string;
  generatedAt: string;
  records: number;
}

export interface ExportRecord {
  type: 'record';
  seq: number;
  recordedAt: string;
  source: AuditSource;
  event: AuditEvent;
  prevHash: string;
  hash: string;
  proof: { checkpoint: number; index: number; path: string[] } | null;
}

interface Row {
  seq: number;
  recorded_at: Date;
  source: AuditSource;
  payload: AuditEvent;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Builds the export; `from` inclusive, `to` exclusive, by the time each event occurred. */
export async function buildAuditExport(db: Kysely<any>, subject: ExportSubject, from: Date, to: Date, now: Date): Promise<string> {
  // recorded_at >= occurred_at, so the lower bound also prunes partitions.
  const match = 'clientId' in subject
    ? sql`(payload #>> '{targets,clientId}' = ${subject.clientId}
           or (payload #>> '{actor,id}' = ${subject.clientId} and payload #>> '{actor,type}' = 'client'))`
    : sql`payload #>> '{targets,paymentId}' = ${subject.paymentId}`;
  const { rows } = await sql<Row>`
    select seq, recorded_at, source, payload, prev_hash, hash from audit.events
    where ${match} and occurred_at >= ${from} and occurred_at < ${to} and recorded_at >= ${from}
    order by seq`.execute(db);
  const used: SignedCheckpoint[] = [];
  const records: ExportRecord[] = [];
  let cp: SignedCheckpoint | undefined;
  let tree: MerkleTree | undefined;
  for (const row of rows) {
    if (!cp || cp.count < row.seq) {
      // The first checkpoint at or after this record (one query per checkpoint range used).
      const { rows: next } = await sql<{ signed: SignedCheckpoint }>`
        select signed from audit.checkpoints where count >= ${row.seq} order by count limit 1`.execute(db);
      cp = next[0]?.signed;
      tree = undefined;
    }
    let proof: ExportRecord['proof'] = null;
    if (cp && cp.fromSeq <= row.seq) {
      if (!tree) {
        const { rows: leaves } = await sql<{ hash: Buffer }>`
          select hash from audit.events where seq >= ${cp.fromSeq} and seq <= ${cp.count} order by seq`.execute(db);
        tree = new MerkleTree(leaves.map((l) => l.hash));
        used.push(cp);
      }
      const index = row.seq - cp.fromSeq;
      proof = { checkpoint: cp.count, index, path: tree.path(index).map((h) => h.toString('hex')) };
    }
    records.push({
      type: 'record', seq: row.seq, recordedAt: row.recorded_at.toISOString(), source: row.source, event: row.payload,
      prevHash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex'), proof,
    });
  }
  const header: ExportHeader = { type: 'audit-export-v1', subject, from: from.toISOString(), to: to.toISOString(), generatedAt: now.toISOString(), records: records.length };
  return [header, ...used.map((checkpoint) => ({ type: 'checkpoint', checkpoint })), ...records].map((l) => JSON.stringify(l)).join('\n') + '\n';
}

export type ExportVerdict =
  | { ok: true; records: number; proven: number; unproven: number }
  | { ok: false; line: number; seq?: number; problem: string };

/** Checks an export offline: every record against its hash, every proof against a signed checkpoint. */
export function verifyAuditExport(text: string, publicKey: KeyObject): ExportVerdict {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const bad = (line: number, problem: string, seq?: number): ExportVerdict => ({ ok: false, line, problem, ...(seq ? { seq } : {}) });
  let header: ExportHeader | undefined;
  const checkpoints = new Map<number, SignedCheckpoint>();
  let records = 0;
  let proven = 0;
  for (const [i, text] of lines.entries()) {
    let line: any;
    try {
      line = JSON.parse(text);
    } catch {
      return bad(i + 1, 'not JSON');
    }
    if (i === 0) {
      if (line.type !== 'audit-export-v1') return bad(1, 'not an audit export');
      header = line;
    } else if (line.type === 'checkpoint') {
      const cp = line.checkpoint as SignedCheckpoint;
      if (!cp || !verifySigned(cp, publicKey)) return bad(i + 1, `checkpoint at seq ${cp.count} has no valid signature by the audit key`);
      checkpoints.set(cp.count, cp);
    } else if (line.type === 'record') {
      const r = line as ExportRecord;
      records++;
      const hash = recordHash(Buffer.from(r.prevHash, 'hex'), { seq: r.seq, recordedAt: r.recordedAt, source: r.source, event: r.event });
      if (hash.toString('hex') !== r.hash) return bad(i + 1, `record seq ${r.seq} was altered: it does not match its hash`, r.seq);
      if (r.proof) {
        const cp = checkpoints.get(r.proof.checkpoint);
        if (!cp) return bad(i + 1, `record seq ${r.seq} cites checkpoint ${r.proof.checkpoint}, which the export lacks`, r.seq);
        const ok = r.proof.index === r.seq - cp.fromSeq && verifyMerklePath(hash, r.proof.index, cp.count - cp.fromSeq + 1,
          r.proof.path.map((h) => Buffer.from(h, 'hex')), Buffer.from(cp.merkleRoot, 'hex'));
        if (!ok) return bad(i + 1, `record seq ${r.seq} is not in the records signed by checkpoint ${cp.count}`, r.seq);
        proven++;
      }
    } else {
      return bad(i + 1, `unknown line type ${String(line.type)}`);
    }
  }
  if (!header) return bad(1, 'empty export');
  if (header.records !== records) return bad(1, `the export announces ${header.records} records but holds ${records}`);
  return { ok: true, records, proven, unproven: records - proven };
}
