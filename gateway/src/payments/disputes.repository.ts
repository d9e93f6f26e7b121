// SQL for dispute cases and their notes (SP-18 … SP-20).
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import type { DisputeOutcome, DisputeReason } from './payments.table.js';

export async function insertDispute(db: Kysely<GatewayDatabase>, d: {
  id: string; clientId: string; paymentId: string; reason: DisputeReason;
  threeDsResult: string | null; threeDsEnrolled: boolean | null; now: Date;
}) {
  return db.insertInto('gateway.disputes').values({
    id: d.id, client_id: d.clientId, payment_id: d.paymentId, reason: d.reason, status: 'open', outcome: null,
    three_ds_result: d.threeDsResult, three_ds_enrolled: d.threeDsEnrolled, created_at: d.now, resolved_at: null, resolved_by: null,
  }).onConflict((oc) => oc.column('payment_id').doNothing()).returning('id').executeTakeFirst();
}

const COLUMNS = ['id', 'client_id', 'payment_id', 'reason', 'status', 'outcome', 'three_ds_result', 'three_ds_enrolled',
  'created_at', 'resolved_at', 'resolved_by'] as const;

export type DisputeRow = NonNullable<Awaited<ReturnType<typeof findDispute>>>;

export async function findDispute(db: Kysely<GatewayDatabase>, id: string) {
  return db.selectFrom('gateway.disputes').select(COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function listDisputes(db: Kysely<GatewayDatabase>, status: 'open' | 'resolved' | undefined, limit: number) {
  let q = db.selectFrom('gateway.disputes').select(COLUMNS);
  if (status) q = q.where('status', '=', status);
  return q.orderBy('created_at').orderBy('id').limit(limit).execute();
}

export async function resolveDispute(db: Kysely<GatewayDatabase>, id: string, outcome: DisputeOutcome, by: string, now: Date) {
  return db.updateTable('gateway.disputes').set({ status: 'resolved', outcome, resolved_by: by, resolved_at: now })
    .where('id', '=', id).where('status', '=', 'open').returning(['id', 'client_id', 'payment_id']).executeTakeFirst();
}

export async function insertNote(db: Kysely<GatewayDatabase>, n: { id: string; disputeId: string; author: string; text: string; now: Date }) {
  await db.insertInto('gateway.dispute_notes').values({ id: n.id, dispute_id: n.disputeId, author: n.author, text: n.text, created_at: n.now }).execute();
}

export async function listNotes(db: Kysely<GatewayDatabase>, disputeId: string) {
  return db.selectFrom('gateway.dispute_notes').select(['id', 'author', 'text', 'created_at'])
    .where('dispute_id', '=', disputeId).orderBy('created_at').orderBy('id').execute();
}
