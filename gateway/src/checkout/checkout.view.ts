// Sessions and payments as the merchant API shows them: in answers and in webhook events alike
// (design.md: never card data beyond brand and last 4, never the paying client). Amounts are
// integers in minor units next to their currency, as merchants send them.
import type { MerchantPaymentRow } from './merchant-payments.repository.js';
import type { SessionRow } from './sessions.repository.js';

export const mode = (livemode: boolean) => (livemode ? 'live' as const : 'test' as const);

export function sessionView(s: SessionRow, publicUrl: string) {
  return {
    id: s.id,
    url: `${publicUrl}/checkout/${s.id}`,
    status: s.status,
    mode: mode(s.livemode),
    amount: s.amount,
    currency: s.currency,
    params: s.params,
    returnUrl: s.return_url,
    cancelUrl: s.cancel_url,
    reference: s.reference,
    paymentId: s.payment_id,
    createdAt: s.created_at.toISOString(),
    expiresAt: s.expires_at.toISOString(),
    completedAt: s.completed_at?.toISOString() ?? null,
  };
}

export function merchantPaymentView(p: MerchantPaymentRow, now: Date) {
  // An open payment past its window reads as expired; the sweep or the next touch records it.
  const lapsed = (p.status === 'requires_confirmation' || p.status === 'requires_action') && p.expires_at.getTime() <= now.getTime();
  return {
    id: p.id,
    status: lapsed ? 'expired' : p.status,
    mode: mode(p.livemode),
    amount: p.amount,
    currency: p.currency,
    refundedAmount: p.refunded_amount,
    checkoutSessionId: p.checkout_session_id,
    reference: p.reference,
    card: { brand: p.brand, last4: p.last4 },
    threeDS: p.three_ds_enrolled === null ? null : { enrolled: p.three_ds_enrolled, result: p.three_ds_result },
    declineReason: p.decline_reason,
    createdAt: p.created_at.toISOString(),
  };
}
