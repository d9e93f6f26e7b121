// The investigation export (SP-20): a client's or a payment's audit trail for a time range as
// JSON Lines, produced by the audit-worker (audit-worker/src/export.ts) and checked offline with
// `npm run audit:verify -- --export FILE` and the published public key, by this file alone.
//   line 1      the header, signed with the audit key (Ed25519 over its RFC 8785 JSON, like a
//               checkpoint): subject, range, generation time, the seqs of every record the export
//               holds in order, and the checkpoint that covers the newest of them;
//   then        each signed checkpoint the records' proofs cite ({type: 'checkpoint', checkpoint});
//   then        one line per record: its content, chain hashes and the RFC 9162 audit path that
//               proves it under a checkpoint at or below the covered one.
// The signed seq list is what makes the export complete: a record added, dropped or moved no
// longer matches it, and the header cannot be edited or re-signed without the worker's key.
import type { KeyObject } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { AuditEvent } from './event.js';
import type { AuditSource } from './outbox.js';
import { isTrusted, recordHash, verifyMerklePath, verifySigned, type SignedCheckpoint, type TrustedKeys } from './chain.js';

export type ExportSubject = { clientId: string } | { paymentId: string };

/** The covered checkpoint, named by the last seq it signs and its Merkle root. */
export interface CoveredCheckpoint {
  count: number;
  merkleRoot: string;
}

export interface ExportHeaderBody {
  type: 'audit-export-v2';
  subject: ExportSubject;
  from: string;
  to: string;
  generatedAt: string;
  seqs: number[];
  checkpoint: CoveredCheckpoint | null; // null only when the export holds no record
}

export interface ExportHeader extends ExportHeaderBody {
  keyId: string;
  signature: string;
}

export interface ExportProof {
  checkpoint: number;
  index: number;
  path: string[];
}

export interface ExportRecord {
  type: 'record';
  seq: number;
  recordedAt: string;
  source: AuditSource;
  event: AuditEvent;
  prevHash: string;
  hash: string;
  proof: ExportProof;
}

// ---- what the staff route and the worker accept ---------------------------------------------

export const MAX_EXPORT_RANGE_MS = 366 * 24 * 3600 * 1000;
export const ExportUuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const Instant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$' });
export const ExportRangeQuery = Type.Object({ from: Instant, to: Instant });

/** `from` inclusive, `to` exclusive; a string says why the range is refused. */
export function parseExportRange(query: { from: string; to: string }): { from: Date; to: Date } | string {
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) return '`from` and `to` must be instants with from < to';
  if (to.getTime() - from.getTime() > MAX_EXPORT_RANGE_MS) return 'a range spans at most 366 days';
  return { from, to };
}

// ---- the offline verifier -------------------------------------------------------------------

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Seq = Type.Integer({ minimum: 1 });
const HeaderLine = Type.Object({
  type: Type.Literal('audit-export-v2'),
  subject: Type.Union([
    Type.Object({ clientId: Type.String() }, { additionalProperties: false }),
    Type.Object({ paymentId: Type.String() }, { additionalProperties: false }),
  ]),
  from: Type.String(),
  to: Type.String(),
  generatedAt: Type.String(),
  seqs: Type.Array(Seq),
  checkpoint: Type.Union([Type.Object({ count: Seq, merkleRoot: Hex32 }, { additionalProperties: false }), Type.Null()]),
  keyId: Type.String(),
  signature: Type.String(),
}, { additionalProperties: false });
const CheckpointLine = Type.Object({
  type: Type.Literal('checkpoint'),
  checkpoint: Type.Object({
    type: Type.Literal('audit-checkpoint-v1'), fromSeq: Seq, count: Seq, lastHash: Hex32, merkleRoot: Hex32,
    at: Type.String(), keyId: Type.String(), signature: Type.String(),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
const RecordLine = Type.Object({
  type: Type.Literal('record'),
  seq: Seq,
  recordedAt: Type.String(),
  source: Type.Union([Type.Literal('gateway'), Type.Literal('vault')]),
  event: Type.Record(Type.String(), Type.Unknown()),
  prevHash: Hex32,
  hash: Hex32,
  proof: Type.Union([Type.Object({ checkpoint: Seq, index: Type.Integer({ minimum: 0 }), path: Type.Array(Hex32) }, { additionalProperties: false }), Type.Null()]),
}, { additionalProperties: false });
const isHeader = TypeCompiler.Compile(HeaderLine);
const isCheckpoint = TypeCompiler.Compile(CheckpointLine);
const isRecord = TypeCompiler.Compile(RecordLine);

/** The kinds of damage the verifier names (printed by audit:verify). */
export type ExportDamage =
  | 'malformed' // not an export line at all
  | 'unsigned' // a header with no signature: it proves nothing about what was left out
  | 'signature' // a header or checkpoint not signed by a trusted audit key (edited, or signed by another key)
  | 'added' // a record the signed header does not list
  | 'dropped' // a record the signed header lists is missing
  | 'reordered' // records out of the signed order
  | 'altered' // a record whose content no longer matches its hash or its proof
  | 'unproven'; // a record without a proof at or below the covered checkpoint

export type ExportVerdict =
  | { ok: true; records: number; checkpoints: number; covered: number | null; keyId: string }
  | { ok: false; line: number; seq?: number; kind: ExportDamage; problem: string };

class Damaged extends Error {
  constructor(readonly verdict: Extract<ExportVerdict, { ok: false }>) {
    super(verdict.problem);
  }
}

function damaged(line: number, kind: ExportDamage, problem: string, seq?: number): never {
  throw new Damaged({ ok: false, line, kind, problem, ...(seq !== undefined ? { seq } : {}) });
}

function parseLine(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return damaged(line, 'malformed', 'not JSON');
  }
}

function checkHeader(value: unknown, publicKey: KeyObject | TrustedKeys): ExportHeader {
  const candidate = value as { type?: unknown; keyId?: unknown; signature?: unknown } | null;
  if (candidate?.type === 'audit-export-v1' || (candidate?.type === 'audit-export-v2' && (candidate.signature === undefined || candidate.keyId === undefined))) {
    damaged(1, 'unsigned', 'the header is not signed: it cannot show that no record was added or left out');
  }
  if (!isHeader.Check(value)) damaged(1, 'malformed', 'not an audit export header');
  const header = value as ExportHeader;
  if (!isTrusted(header.keyId, publicKey)) damaged(1, 'signature', `the header is signed by another key (${header.keyId}), not an audit key in the trusted set`);
  if (!verifySigned(header, publicKey)) damaged(1, 'signature', `the header does not match its signature by audit key ${header.keyId}: it was edited`);
  // Signed but inconsistent: a producer bug or a stolen key; refused all the same.
  header.seqs.forEach((seq, i) => {
    if (i > 0 && seq <= header.seqs[i - 1]!) damaged(1, 'malformed', `the header's seqs are not strictly increasing at seq ${seq}`);
  });
  const newest = header.seqs[header.seqs.length - 1];
  if (newest !== undefined && (header.checkpoint === null || header.checkpoint.count < newest)) {
    damaged(1, 'unproven', `the header's covered checkpoint does not cover its newest record seq ${newest}`);
  }
  return header;
}

/** Checks an export offline: signed header, signed checkpoints, every record in the signed order, hashed and proved. */
export function verifyAuditExport(text: string, publicKey: KeyObject | TrustedKeys): ExportVerdict {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  try {
    if (lines.length === 0) damaged(1, 'malformed', 'empty export');
    const header = checkHeader(parseLine(lines[0]!, 1), publicKey);
    const listed = new Set(header.seqs);
    const seen = new Set<number>();
    const checkpoints = new Map<number, SignedCheckpoint>();
    // Where each remaining record line sits, to tell a moved record from a missing one.
    const laterSeqs = (from: number) => new Set(lines.slice(from).map((l) => {
      try {
        return (JSON.parse(l) as { seq?: unknown }).seq;
      } catch {
        return undefined;
      }
    }));
    let records = 0;
    for (let i = 1; i < lines.length; i++) {
      const lineNo = i + 1;
      const value = parseLine(lines[i]!, lineNo);
      const type = (value as { type?: unknown } | null)?.type;
      if (type === 'checkpoint') {
        if (records > 0) damaged(lineNo, 'malformed', 'a checkpoint line after the records');
        if (!isCheckpoint.Check(value)) damaged(lineNo, 'malformed', 'not a checkpoint line');
        const cp = value.checkpoint as SignedCheckpoint;
        if (!verifySigned(cp, publicKey)) damaged(lineNo, 'signature', `checkpoint at seq ${cp.count} has no valid signature by a trusted audit key`);
        checkpoints.set(cp.count, cp);
        continue;
      }
      if (type !== 'record') damaged(lineNo, 'malformed', `unknown line type ${String(type)}`);
      const seqOf = (value as { seq?: unknown }).seq;
      const seqHint = typeof seqOf === 'number' ? seqOf : undefined;
      if (!isRecord.Check(value)) damaged(lineNo, 'malformed', 'not a record line', seqHint);
      const r = value as unknown as Omit<ExportRecord, 'proof'> & { proof: ExportProof | null };
      const expected = header.seqs[records];
      if (r.seq !== expected) {
        if (!listed.has(r.seq) || seen.has(r.seq)) {
          damaged(lineNo, 'added', `record seq ${r.seq} is not one the signed header lists${seen.has(r.seq) ? ' again' : ''}: it was added`, r.seq);
        }
        if (expected === undefined || r.seq < expected || laterSeqs(i + 1).has(expected)) {
          damaged(lineNo, 'reordered', `record seq ${r.seq} is out of the signed order${expected === undefined ? '' : ` (seq ${expected} belongs here)`}`, r.seq);
        }
        damaged(lineNo, 'dropped', `record seq ${expected}, which the signed header lists here, was removed`, expected);
      }
      seen.add(r.seq);
      records++;
      const hash = recordHash(Buffer.from(r.prevHash, 'hex'), { seq: r.seq, recordedAt: r.recordedAt, source: r.source, event: r.event });
      if (hash.toString('hex') !== r.hash) damaged(lineNo, 'altered', `record seq ${r.seq} was altered: it does not match its hash`, r.seq);
      if (!r.proof) damaged(lineNo, 'unproven', `record seq ${r.seq} carries no proof under a signed checkpoint`, r.seq);
      if (r.proof.checkpoint > header.checkpoint!.count) {
        damaged(lineNo, 'unproven', `record seq ${r.seq} cites checkpoint ${r.proof.checkpoint}, above the covered checkpoint ${header.checkpoint!.count}`, r.seq);
      }
      const cp = checkpoints.get(r.proof.checkpoint);
      if (!cp) damaged(lineNo, 'unproven', `record seq ${r.seq} cites checkpoint ${r.proof.checkpoint}, which the export lacks`, r.seq);
      const proved = r.proof.index === r.seq - cp.fromSeq && verifyMerklePath(hash, r.proof.index, cp.count - cp.fromSeq + 1,
        r.proof.path.map((h) => Buffer.from(h, 'hex')), Buffer.from(cp.merkleRoot, 'hex'));
      if (!proved) damaged(lineNo, 'altered', `record seq ${r.seq} is not the record signed by checkpoint ${cp.count} at that seq`, r.seq);
    }
    if (records < header.seqs.length) {
      const missing = header.seqs[records]!;
      damaged(lines.length + 1, 'dropped', `the export ends before record seq ${missing}, which the signed header lists`, missing);
    }
    if (header.checkpoint) {
      const covered = checkpoints.get(header.checkpoint.count);
      if (!covered || covered.merkleRoot !== header.checkpoint.merkleRoot) {
        damaged(1, 'unproven', `the covered checkpoint ${header.checkpoint.count} the header names is not in the export`);
      }
    }
    return { ok: true, records, checkpoints: checkpoints.size, covered: header.checkpoint?.count ?? null, keyId: header.keyId };
  } catch (err) {
    if (err instanceof Damaged) return err.verdict;
    throw err;
  }
}
