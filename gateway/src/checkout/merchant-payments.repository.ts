// SQL of payments as their merchant sees them: only payments of the merchant's checkout sessions,
// in the mode of the key that asks (a test key never sees a live payment, nor the other way).
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

function merchantPayments(db: Kysely<GatewayDatabase>) {
  return db.selectFrom('gateway.payments as p')
    .innerJoin('gateway.checkout_sessions as s', 's.id', 'p.checkout_session_id')
    .innerJoin('gateway.cards as c', 'c.id', 'p.card_id')
    .select([
      'p.id', 'p.status', 'p.amount', 'p.currency', 'p.refunded_amount', 'p.decline_reason', 'p.three_ds_result', 'p.three_ds_enrolled',
      'p.created_at', 'p.expires_at', 'c.brand', 'c.last4', 's.id as checkout_session_id', 's.reference', 's.merchant_id', 's.livemode',
    ]);
}

export type MerchantPaymentRow = NonNullable<Awaited<ReturnType<typeof findPaymentOfSession>>>;

/** A payment of a checkout session, whoever asks (the events of a change); undefined for a client's own payment. */
export async function findPaymentOfSession(db: Kysely<GatewayDatabase>, id: string) {
  return merchantPayments(db).where('p.id', '=', id).executeTakeFirst();
}

export async function findMerchantPayment(db: Kysely<GatewayDatabase>, id: string, merchantId: string, livemode: boolean): Promise<MerchantPaymentRow | undefined> {
  return merchantPayments(db).where('p.id', '=', id).where('p.merchant_id', '=', merchantId).where('s.livemode', '=', livemode).executeTakeFirst();
}

/** Newest first by id (UUIDv7: creation order, unique), so a cursor never skips or repeats a payment. */
export async function listMerchantPayments(
  db: Kysely<GatewayDatabase>,
  q: { merchantId: string; livemode: boolean; limit: number; startingAfter?: string },
): Promise<MerchantPaymentRow[]> {
  let query = merchantPayments(db).where('p.merchant_id', '=', q.merchantId).where('s.livemode', '=', q.livemode);
  if (q.startingAfter !== undefined) query = query.where('p.id', '<', q.startingAfter);
  return query.orderBy('p.id', 'desc').limit(q.limit).execute();
}
