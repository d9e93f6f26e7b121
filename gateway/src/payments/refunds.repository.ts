// SQL for refunds (SP-18 … SP-20).
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

/** Money already refunded or on its way back, for a payment whose row the caller has locked. */
export async function committedRefunds(db: Kysely<GatewayDatabase>, paymentId: string): Promise<number> {
  const result = await sql<{ total: number }>`
    select coalesce(sum(amount), 0)::bigint as total from gateway.refunds
    where payment_id = ${paymentId} and status in ('pending', 'succeeded')`.execute(db);
  return result.rows[0]!.total;
}

export async function insertRefund(db: Kysely<GatewayDatabase>, r: {
  id: string; paymentId: string; disputeId: string | null; amount: number; currency: string; requestedBy: string; now: Date;
}): Promise<void> {
  await db.insertInto('gateway.refunds').values({
    id: r.id, payment_id: r.paymentId, dispute_id: r.disputeId, amount: r.amount, currency: r.currency,
    status: 'pending', vault_refund_id: null, requested_by: r.requestedBy, created_at: r.now, completed_at: null,
  }).execute();
}

export async function completeRefund(db: Kysely<GatewayDatabase>, id: string, outcome: { vaultRefundId: string } | 'failed', now: Date) {
  return db.updateTable('gateway.refunds')
    .set(outcome === 'failed' ? { status: 'failed', completed_at: now } : { status: 'succeeded', vault_refund_id: outcome.vaultRefundId, completed_at: now })
    .where('id', '=', id).where('status', '=', 'pending')
    .returning(['id', 'payment_id', 'amount', 'currency', 'status']).executeTakeFirst();
}

export async function listRefunds(db: Kysely<GatewayDatabase>, paymentId: string) {
  return db.selectFrom('gateway.refunds')
    .select(['id', 'payment_id', 'dispute_id', 'amount', 'currency', 'status', 'requested_by', 'created_at', 'completed_at'])
    .where('payment_id', '=', paymentId).orderBy('created_at').execute();
}
