// Refunds (SP-18 … SP-20): staff refund fully or partly; a dispute on a 3-D-Secure-bypassed
// payment of an enrolled card is refunded automatically. Two steps, so concurrent refunds can
// never exceed the payment: (1) under the payment's row lock, reserve the amount as a pending
// refund; (2) ask the vault (idempotent on the refund id), then record success on the refund
// and the payment together. A vault that cannot be reached leaves the refund pending (the money
// stays reserved) rather than risk refunding twice; the payments sweep asks the vault again
// (refund-retry.ts).
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { AuditActor } from '../../../lib/audit/event.js';
import type { Static } from '@sinclair/typebox';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import { recordPaymentEvent } from '../checkout/payment-events.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { addRefunded, type PaymentRow } from './payments.repository.js';
import { committedRefunds, completeRefund, insertRefund } from './refunds.repository.js';
import { refund as vaultRefund, VaultRefusal } from './vault-api.js';

export interface RefundView {
  id: string;
  paymentId: string;
  amount: { value: number; currency: string };
  status: 'pending' | 'succeeded' | 'failed';
}

type Actor = Static<typeof AuditActor>;

export interface ReservedRefund {
  id: string;
  paymentId: string;
  authorizationId: string;
  clientId: string;
  amount: number;
  currency: string;
  /** Set for a checkout session's payment: its merchant hears of the refund's outcome. */
  checkoutSessionId: string | null;
}

/** Step 1, inside the caller's transaction holding `p`'s row lock. `amount` undefined = all that is left. */
export async function reserveRefund(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  origin: RequestOrigin | undefined,
  p: PaymentRow,
  input: { amount?: number; disputeId: string | null; actor: Actor },
): Promise<ReservedRefund> {
  if ((p.status !== 'succeeded' && p.status !== 'partially_refunded') || !p.authorization_id) {
    throw new DomainError('refund_not_allowed', `a ${p.status} payment cannot be refunded`);
  }
  const left = p.amount - (await committedRefunds(trx, p.id));
  const amount = input.amount ?? left;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > left) {
    throw new DomainError('refund_not_allowed', `at most ${left} minor units of this payment can still be refunded`);
  }
  const now = ctx.clock.now();
  const id = uuidv7(now);
  await insertRefund(trx, { id, paymentId: p.id, disputeId: input.disputeId, amount, currency: p.currency, requestedBy: input.actor.id ?? input.actor.type, now });
  await recordAudit(trx, ctx.clock, origin, {
    actor: input.actor, action: 'refund.requested', outcome: 'success',
    targets: { clientId: p.client_id, paymentId: p.id, refundId: id, ...(input.disputeId ? { disputeId: input.disputeId } : {}) },
    details: { amount, currency: p.currency },
  });
  return {
    id, paymentId: p.id, authorizationId: p.authorization_id, clientId: p.client_id, amount, currency: p.currency, checkoutSessionId: p.checkout_session_id,
  };
}

export interface RefundStep {
  actor: Actor;
  /** Where the request that asked for the refund came from; none when the sweep retries it. */
  origin?: RequestOrigin;
  log: FastifyBaseLogger;
  /** Runs in the transaction that records the refund as succeeded, so what follows from it cannot be lost. */
  onSucceeded?: (trx: Kysely<GatewayDatabase>) => Promise<void>;
}

/**
 * Step 2: the vault moves the money back; the refund and the payment record it together. When the
 * vault cannot be reached the refund is returned still pending: an error instead would invite the
 * caller to refund again what the sweep is going to refund anyway.
 */
export async function executeRefund(ctx: GatewayContext, r: ReservedRefund, step: RefundStep): Promise<RefundView> {
  const view = { id: r.id, paymentId: r.paymentId, amount: { value: r.amount, currency: r.currency } };
  let outcome: { vaultRefundId: string } | 'failed';
  try {
    const done = await vaultRefund(ctx.vault, { authorizationId: r.authorizationId, amount: { value: r.amount, currency: r.currency }, refundRef: r.id });
    outcome = { vaultRefundId: done.refundId };
  } catch (err) {
    if (err instanceof DomainError && err.code === 'vault_unavailable') {
      step.log.warn({ err, refundId: r.id, paymentId: r.paymentId }, 'vault unreachable: the refund stays pending, its amount reserved, until the sweep completes it');
      return { ...view, status: 'pending' };
    }
    if (!(err instanceof VaultRefusal)) throw err;
    outcome = 'failed';
  }
  const status = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const completed = await completeRefund(trx, r.id, outcome, now);
    if (!completed) return undefined;
    if (completed.status === 'succeeded') await addRefunded(trx, r.paymentId, r.amount, now);
    await recordAudit(trx, ctx.clock, step.origin, {
      actor: step.actor, action: completed.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed',
      outcome: completed.status === 'succeeded' ? 'success' : 'failure',
      targets: { clientId: r.clientId, paymentId: r.paymentId, refundId: r.id },
      details: { amount: r.amount, currency: r.currency },
    });
    if (r.checkoutSessionId !== null) {
      await recordPaymentEvent(trx, r.paymentId, completed.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed',
        { ...view, status: completed.status }, now);
    }
    if (completed.status === 'succeeded') await step.onSucceeded?.(trx);
    return completed.status;
  });
  return { ...view, status: status ?? 'pending' };
}
