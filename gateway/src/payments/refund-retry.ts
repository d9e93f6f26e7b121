// Completes refunds left pending (SP-18 … SP-20): step 2 of a refund (refunds.service.ts) leaves
// the refund pending, its amount reserved, when the vault cannot be reached, and the payments
// sweep runs this to ask the vault again with the same refund id.
//
// Correctness rests on the vault and on completeRefund, not on the claim: the vault is idempotent
// on the refund id (a repeat replays the first refund, also when the two race) and completeRefund
// only moves a refund still pending, so a refund moves money, completes and is audited once however
// often it is asked for. The claim (claimDueRefunds) keeps sweepers from asking for the same
// refund at the same moment, and the grace period keeps them off a refund whose own request may
// still be waiting for the vault.
import type { FastifyBaseLogger } from 'fastify';
import { MINUTE } from '../../../lib/clock.js';
import type { GatewayContext } from '../context.js';
import { closeAsRefunded } from './disputes.service.js';
import { claimDueRefunds } from './refunds.repository.js';
import { executeRefund, type RefundView } from './refunds.service.js';

const RETRY = { type: 'system' as const, id: 'refund-retry' };

export interface RefundRetryOptions {
  /** How long a refund stays pending, after it was requested or last retried, before it is retried. */
  graceMs?: number;
  /** At most this many refunds per call, each a vault call in turn. */
  limit?: number;
}

/** Asks the vault again for the refunds due; returns each one as it now stands. */
export async function retryPendingRefunds(
  ctx: GatewayContext,
  now: Date,
  log: FastifyBaseLogger,
  { graceMs = MINUTE, limit = 20 }: RefundRetryOptions = {},
): Promise<RefundView[]> {
  const due = await claimDueRefunds(ctx.db, { now, dueBefore: new Date(now.getTime() - graceMs), limit });
  const results: RefundView[] = [];
  for (const r of due) {
    const refundLog = log.child({ refundRetries: r.retries });
    try {
      results.push(await executeRefund(ctx, {
        id: r.id, paymentId: r.payment_id, authorizationId: r.authorization_id, clientId: r.client_id, amount: r.amount, currency: r.currency,
        checkoutSessionId: r.checkout_session_id,
      }, {
        actor: RETRY,
        log: refundLog,
        // Only SP-18's automatic refunds belong to a dispute; staff refunds carry none.
        ...(r.dispute_id ? { onSucceeded: closeAsRefunded(ctx, undefined, r.dispute_id) } : {}),
      }));
    } catch (err) {
      // One refund that cannot be recorded must not hold up the others; it is retried next time.
      refundLog.warn({ err, refundId: r.id, paymentId: r.payment_id }, 'refund retry failed; it stays pending');
    }
  }
  return results;
}
