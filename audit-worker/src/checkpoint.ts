// Signed checkpoints (SP-21, PCI DSS 10.3.4): at intervals the worker signs, with Ed25519, the
// count of records, the last chain hash and the Merkle root over the records since the previous
// checkpoint. A copy goes to a file outside the database, so a database superuser who rewrites
// the chain and its checkpoints still cannot rewrite that copy or forge a signature.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { MerkleTree, type CheckpointBody, type SignedCheckpoint, type Signer } from '../../lib/audit/chain.js';
import { CHAIN_LOCK } from './store.js';
import type { AuditDatabase } from './database.js';

const CHECKPOINT_LOCK = CHAIN_LOCK + 1;

export async function lastCheckpoint(db: Kysely<AuditDatabase>): Promise<SignedCheckpoint | undefined> {
  const { rows } = await sql<{ signed: SignedCheckpoint }>`
    select signed from audit.checkpoints order by count desc limit 1`.execute(db);
  return rows[0]?.signed;
}

/**
 * Signs a checkpoint over every record since the last one; returns it, or undefined when no
 * record arrived since. Checkpoint writers take their own lock (never the chain's: the
 * sequencer keeps running), so consecutive checkpoints cover consecutive ranges.
 */
export async function writeCheckpoint(db: Kysely<AuditDatabase>, signer: Signer, clock: Clock, externalFile?: string): Promise<SignedCheckpoint | undefined> {
  const signed = await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CHECKPOINT_LOCK})`.execute(trx);
    const last = await lastCheckpoint(trx);
    const { rows: [head] } = await sql<{ seq: number; hash: Buffer }>`select seq, hash from audit.chain_head`.execute(trx);
    const fromSeq = (last?.count ?? 0) + 1;
    if (!head || head.seq < fromSeq) return undefined;
    const { rows } = await sql<{ hash: Buffer }>`
      select hash from audit.events where seq >= ${fromSeq} and seq <= ${head.seq} order by seq`.execute(trx);
    if (rows.length !== head.seq - fromSeq + 1 || !rows[rows.length - 1]!.hash.equals(head.hash)) {
      throw new Error(`audit chain is not contiguous between seq ${fromSeq} and ${head.seq}: run audit:verify`);
    }
    const body: CheckpointBody = {
      type: 'audit-checkpoint-v1',
      fromSeq,
      count: head.seq,
      lastHash: head.hash.toString('hex'),
      merkleRoot: new MerkleTree(rows.map((r) => r.hash)).root.toString('hex'),
      at: clock.now().toISOString(),
    };
    const cp: SignedCheckpoint = { ...body, keyId: signer.keyId, signature: signer.sign(body) };
    await sql`insert into audit.checkpoints (count, signed) values (${cp.count}, ${JSON.stringify(cp)}::jsonb)`.execute(trx);
    return cp;
  });
  if (signed && externalFile) {
    mkdirSync(dirname(externalFile), { recursive: true });
    appendFileSync(externalFile, `${JSON.stringify(signed)}\n`);
  }
  return signed;
}
