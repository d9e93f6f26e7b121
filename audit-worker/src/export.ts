// Builds the investigation export (SP-20; format and verifier in lib/audit/export.ts). Only the
// worker reads the audit store and holds the signing key, so only it can say, under that key,
// "these seqs and no others match this subject and range". Every record leaves with a Merkle
// proof: when the newest matching record is not yet under a signed checkpoint, one is signed now
// (the same checkpoint the interval timer would have written, also appended to the external file).
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { MerkleTree, type SignedCheckpoint, type Signer } from '../../lib/audit/chain.js';
import type { ExportHeader, ExportHeaderBody, ExportRecord, ExportSubject } from '../../lib/audit/export.js';
import type { AuditDatabase } from './database.js';
import { writeCheckpoint } from './checkpoint.js';

export interface ExportSource {
  db: Kysely<AuditDatabase>;
  signer: Signer;
  clock: Clock;
  /** AUDIT_CHECKPOINT_FILE: a checkpoint signed for an export is copied there like any other. */
  checkpointFile?: string;
}

/** A record the store cannot prove: its checkpoint's range lost records (run audit:verify). */
export class UnprovableRecord extends Error {
  constructor(seq: number, why: string) {
    super(`audit record seq ${seq} cannot be proved: ${why}`);
    this.name = 'UnprovableRecord';
  }
}

async function coveringCheckpoint(db: Kysely<AuditDatabase>, seq: number): Promise<SignedCheckpoint | undefined> {
  const row = await db.selectFrom('audit.checkpoints').select('signed')
    .where('count', '>=', seq).orderBy('count').limit(1).executeTakeFirst();
  return row?.signed;
}

/**
 * The phones a client has been known by, from the store itself (events naming both, such as
 * client.registered and session.login): the worker reads no other process's data. Searched over
 * all time, not the export's range, since a registration years ago still names the phone of a
 * refusal today. An event naming a phone and no client id (a code sent, a locked login, a reset
 * asked for before the client was known) belongs to the client's trail; one naming another
 * client id does not.
 */
async function clientPhones(db: Kysely<AuditDatabase>, clientId: string): Promise<string[]> {
  const rows = await sql<{ phone: string }>`select distinct payload #>> '{targets,phone}' as phone from audit.events
    where payload #>> '{targets,clientId}' = ${clientId} and payload #>> '{targets,phone}' is not null`.execute(db);
  return rows.rows.map((r) => r.phone);
}

/** The export as JSON Lines; `from` inclusive, `to` exclusive, by the time each event occurred. */
export async function buildAuditExport(source: ExportSource, subject: ExportSubject, from: Date, to: Date): Promise<string> {
  const { db } = source;
  const match = 'clientId' in subject
    ? sql<boolean>`(payload #>> '{targets,clientId}' = ${subject.clientId}
           or (payload #>> '{actor,id}' = ${subject.clientId} and payload #>> '{actor,type}' = 'client')
           or (payload #>> '{targets,clientId}' is null and payload #>> '{targets,phone}' = any(${await clientPhones(db, subject.clientId)}::text[])))`
    : sql<boolean>`payload #>> '{targets,paymentId}' = ${subject.paymentId}`;
  // recorded_at >= occurred_at, so the lower bound also prunes partitions.
  const rows = await db.selectFrom('audit.events')
    .select(['seq', 'recorded_at', 'source', 'payload', 'prev_hash', 'hash'])
    .where(match).where('occurred_at', '>=', from).where('occurred_at', '<', to).where('recorded_at', '>=', from)
    .orderBy('seq').execute();

  let covered: SignedCheckpoint | undefined;
  const newest = rows[rows.length - 1]?.seq;
  if (newest !== undefined) {
    covered = await coveringCheckpoint(db, newest);
    if (!covered) {
      await writeCheckpoint(db, source.signer, source.clock, source.checkpointFile);
      // Another instance may have signed first: whichever checkpoint now covers it is the one.
      covered = await coveringCheckpoint(db, newest);
      if (!covered) throw new UnprovableRecord(newest, 'no checkpoint covers it even after signing one');
    }
  }

  const used: SignedCheckpoint[] = [];
  const records: ExportRecord[] = [];
  let cp: SignedCheckpoint | undefined;
  let tree: MerkleTree | undefined;
  for (const row of rows) {
    if (!cp || cp.count < row.seq) {
      cp = await coveringCheckpoint(db, row.seq);
      if (!cp || cp.fromSeq > row.seq) throw new UnprovableRecord(row.seq, 'no signed checkpoint range holds it');
      const leaves = await db.selectFrom('audit.events').select('hash')
        .where('seq', '>=', cp.fromSeq).where('seq', '<=', cp.count).orderBy('seq').execute();
      if (leaves.length !== cp.count - cp.fromSeq + 1) throw new UnprovableRecord(row.seq, `records of checkpoint ${cp.count} are missing`);
      tree = new MerkleTree(leaves.map((l) => l.hash));
      used.push(cp);
    }
    const index = row.seq - cp.fromSeq;
    records.push({
      type: 'record', seq: row.seq, recordedAt: row.recorded_at.toISOString(), source: row.source, event: row.payload,
      prevHash: row.prev_hash.toString('hex'), hash: row.hash.toString('hex'),
      proof: { checkpoint: cp.count, index, path: tree!.path(index).map((h) => h.toString('hex')) },
    });
  }
  const body: ExportHeaderBody = {
    type: 'audit-export-v2',
    subject,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: source.clock.now().toISOString(),
    seqs: records.map((r) => r.seq),
    checkpoint: covered ? { count: covered.count, merkleRoot: covered.merkleRoot } : null,
  };
  const header: ExportHeader = { ...body, keyId: source.signer.keyId, signature: source.signer.sign(body) };
  return [header, ...used.map((checkpoint) => ({ type: 'checkpoint', checkpoint })), ...records].map((l) => JSON.stringify(l)).join('\n') + '\n';
}
