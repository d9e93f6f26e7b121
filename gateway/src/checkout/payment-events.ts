// The merchant events (webhook outbox, merchants/merchant-events.ts) that follow from a change to a
// checkout session's payment, written in the transaction of that change: a committed change has
// its event once, a rolled-back one has none. A client's own payment (no session) has none.
import type { Kysely } from 'kysely';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { recordMerchantEvent, type MerchantEventType } from '../merchants/merchant-events.js';
import type { PaymentStatus } from '../payments/payments.table.js';
import { merchantPaymentView, sessionView } from './checkout.view.js';
import { findPaymentOfSession } from './merchant-payments.repository.js';
import { completeSession } from './sessions.repository.js';

const FAILED: ReadonlySet<PaymentStatus> = new Set(['declined', 'failed', 'expired']);

/**
 * After a payment moved to `status`: payment.succeeded (and its session completes, with
 * checkout.session.completed) or payment.failed. Other moves tell the merchant nothing.
 */
export async function recordPaymentMoved(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  p: { id: string; status: PaymentStatus; checkout_session_id: string | null },
  now: Date,
): Promise<void> {
  if (p.checkout_session_id === null) return;
  const type = p.status === 'succeeded' ? 'payment.succeeded' : FAILED.has(p.status) ? 'payment.failed' : undefined;
  if (!type) return;
  const payment = await findPaymentOfSession(trx, p.id);
  if (!payment) throw new Error(`payment ${p.id} of session ${p.checkout_session_id} not found`);
  const owner = { merchantId: payment.merchant_id, livemode: payment.livemode };
  await recordMerchantEvent(trx, { ...owner, type, data: merchantPaymentView(payment, now) }, now);
  if (type !== 'payment.succeeded') return;
  const session = await completeSession(trx, p.checkout_session_id, p.id, now);
  if (session) await recordMerchantEvent(trx, { ...owner, type: 'checkout.session.completed', data: sessionView(session, ctx.config.publicUrl) }, now);
}

/** A refund's or dispute's event, for the merchant whose session the payment paid; false for a client's own payment. */
export async function recordPaymentEvent(
  trx: Kysely<GatewayDatabase>,
  paymentId: string,
  type: Extract<MerchantEventType, `refund.${string}` | `dispute.${string}`>,
  data: Record<string, unknown>,
  now: Date,
): Promise<boolean> {
  const payment = await findPaymentOfSession(trx, paymentId);
  if (!payment) return false;
  await recordMerchantEvent(trx, { merchantId: payment.merchant_id, livemode: payment.livemode, type, data }, now);
  return true;
}
