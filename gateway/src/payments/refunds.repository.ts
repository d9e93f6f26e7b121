// SQL for refunds (SP-18 … SP-20).
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import type { RefundsTable } from './payments.table.js';

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

export type RefundStatus = RefundsTable['status'];

/**
 * Refunds in `status` (all when undefined), oldest first: for staff, pending ones are the money
 * still reserved and not yet back with the client, and `retries` shows how long the vault has
 * been refusing to take them.
 */
export async function listRefundsByStatus(db: Kysely<GatewayDatabase>, status: RefundStatus | undefined, limit: number) {
  let query = db.selectFrom('gateway.refunds')
    .select(['id', 'payment_id', 'dispute_id', 'amount', 'currency', 'status', 'requested_by', 'created_at', 'completed_at', 'retries', 'retried_at'])
    .orderBy('created_at').orderBy('id').limit(limit);
  if (status) query = query.where('status', '=', status);
  return query.execute();
}

export interface DueRefund {
  id: string;
  payment_id: string;
  dispute_id: string | null;
  authorization_id: string;
  client_id: string;
  amount: number;
  currency: string;
  retries: number;
  checkout_session_id: string | null;
}

/**
 * Claims up to `limit` refunds pending since before `dueBefore` (counted from their last retry,
 * if any), oldest first, and marks each retried at `now`. One statement, so the claim is atomic:
 * SKIP LOCKED passes over rows another sweeper is claiming, and a row it has claimed comes back
 * with a fresh retried_at and no longer qualifies (READ COMMITTED rechecks it), so two sweepers
 * never claim the same refund in the same round.
 */
export async function claimDueRefunds(db: Kysely<GatewayDatabase>, input: { now: Date; dueBefore: Date; limit: number }): Promise<DueRefund[]> {
  const result = await sql<DueRefund>`
    with due as (
      select id from gateway.refunds
      where status = 'pending' and coalesce(retried_at, created_at) <= ${input.dueBefore}
      order by coalesce(retried_at, created_at), id
      limit ${input.limit}
      for update skip locked
    )
    update gateway.refunds r set retries = r.retries + 1, retried_at = ${input.now}
    from due, gateway.payments p
    where r.id = due.id and p.id = r.payment_id
    returning r.id, r.payment_id, r.dispute_id, p.authorization_id, p.client_id, r.amount, r.currency, r.retries, p.checkout_session_id`.execute(db);
  return result.rows;
}
