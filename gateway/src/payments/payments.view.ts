// A payment as the client sees it. Built from a joined row; the row type never leaves the service.
import type { PaymentRow } from './payments.repository.js';
import type { PaymentView } from './payments.schema.js';

export const CHALLENGE_PATH = '/v1/3ds/challenges/';

export function toView(row: Omit<PaymentRow, 'card_status'>): PaymentView {
  return {
    id: row.id,
    status: row.status,
    amount: { value: row.amount, currency: row.currency },
    provider: { id: row.provider_id, name: row.provider_name },
    params: row.params,
    card: { id: row.card_id, brand: row.brand, last4: row.last4 },
    threeDS: row.three_ds_enrolled === null ? null : { enrolled: row.three_ds_enrolled, result: row.three_ds_result },
    ...(row.decline_reason ? { declineReason: row.decline_reason } : {}),
    refundedAmount: row.refunded_amount,
    ...(row.status === 'requires_action' && row.challenge_ref
      ? { nextAction: { type: 'redirect_to_url' as const, url: `${CHALLENGE_PATH}${row.challenge_ref}` } }
      : {}),
    expiresAt: row.expires_at.toISOString(),
    createdAt: row.created_at.toISOString(),
  };
}

/** 150000 → "1,500.00 KZT": string arithmetic only, no floating point near money. */
export function formatMoney(value: number, currency: string): string {
  const digits = String(value).padStart(3, '0');
  const major = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${major}.${digits.slice(-2)} ${currency}`;
}
