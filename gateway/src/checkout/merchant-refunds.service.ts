// Merchant refunds (issue 15 item 3): the staff refund's two steps (payments/refunds.service.ts),
// on a payment of one of the merchant's own sessions. The amount is reserved under the payment's
// row lock, so however many refunds race, never more than captured minus refunded goes back.
import type { FastifyBaseLogger } from 'fastify';
import type { RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { AuthenticatedMerchant } from '../merchants/merchant-auth.js';
import type { FinishIdempotent } from '../payments/idempotent-request.js';
import { lockPayment } from '../payments/payments.repository.js';
import { executeRefund, reserveRefund } from '../payments/refunds.service.js';
import { findMerchantPayment } from './merchant-payments.repository.js';

export interface MerchantRefundView {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
}

export async function refundMerchantPayment(
  ctx: GatewayContext,
  merchant: AuthenticatedMerchant,
  origin: RequestOrigin,
  log: FastifyBaseLogger,
  input: { paymentId: string; amount?: number },
  finish?: FinishIdempotent,
): Promise<MerchantRefundView> {
  // Another merchant's payment, or one of the other mode, is not found.
  if (!(await findMerchantPayment(ctx.db, input.paymentId, merchant.id, merchant.livemode))) throw new DomainError('not_found', 'no such payment');
  const actor = { type: 'merchant' as const, id: merchant.id };
  const reserved = await ctx.db.transaction().execute(async (trx) => {
    const p = await lockPayment(trx, input.paymentId);
    if (!p) throw new DomainError('not_found', 'no such payment');
    const r = await reserveRefund(trx, ctx, origin, p, { ...(input.amount !== undefined ? { amount: input.amount } : {}), disputeId: null, actor });
    // A replay answers with the refund as it then stands (routes read it again by id).
    await finish?.(trx, 201, { id: r.id, paymentId: r.paymentId, amount: r.amount, currency: r.currency, status: 'pending' });
    return r;
  });
  const refund = await executeRefund(ctx, reserved, { actor, origin, log });
  return { id: refund.id, paymentId: refund.paymentId, amount: refund.amount.value, currency: refund.amount.currency, status: refund.status };
}
