// Completing the sandbox's 3-D Secure challenge (SP-18) from the paying client's session: the
// cardholder's answer is the client's request (its own audit event); the outcome is the
// processor's, recorded with the system as the actor. As with a confirm (payments.confirm.ts), no
// connection or row lock is held while the vault is asked:
// 1. under the payment's row lock, claim it: requires_action → processing. The expiry sweep never
//    expires a `processing` payment, so a challenge expiring between the page load and the
//    answer is either expired here (and never completed) or claimed (and never expired).
// 2. ask the vault to complete the challenge, holding nothing. The vault's completion is
//    idempotent on the challenge ref: a second answer gets the first one's result.
// 3. record the outcome from `processing`. A vault that cannot be reached leaves the payment
//    claimed: the client's retry, or the payments sweep (payment-retry.ts), asks again.
import { AuditBatch, type RequestOrigin } from '../audit/record.js';
import { recordPaymentMoved } from '../checkout/payment-events.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { failPayment, isDue, recordAuthorization, settled, type SettlingPayment } from './payments.confirm.js';
import { lockPayment, moveStatus, moveStatusAudited, type MovedPayment, type PaymentRow } from './payments.repository.js';
import type { PaymentView } from './payments.schema.js';
import type { Payer } from './payments.service.js';
import { toView } from './payments.view.js';
import { completeChallenge, VaultRefusal, type AuthorizationResult } from './vault-api.js';

export type ChallengeAnswer = 'pass' | 'fail';

/** The actor of a challenge's outcome: the sandbox processor's answer, not the client's. */
export const PROCESSOR = { actor: { type: 'system' as const, id: 'processor' }, details: { processor: 'sandbox' } };

export async function completeThreeDs(
  ctx: GatewayContext,
  origin: RequestOrigin,
  payer: Payer,
  input: { paymentId: string; result: ChallengeAnswer },
): Promise<PaymentView> {
  const claimed = await ctx.db.transaction().execute(async (trx) => {
    const audit = new AuditBatch(ctx.clock, origin);
    const now = ctx.clock.now();
    // Another client's payment is not found: the session, not the challenge ref, is the authority.
    const p = await lockPayment(trx, input.paymentId, payer.id);
    if (!p) return new DomainError('not_found', 'no such payment');
    const actor = { type: 'client' as const, id: payer.id };
    const targets = { clientId: payer.id, paymentId: p.id, cardId: p.card_id };
    if (isDue(p, now)) {
      await moveStatus(trx, p.id, p.status, 'expired', now);
      audit.add({ actor, action: 'payment.expired', outcome: 'success', targets });
      await recordPaymentMoved(trx, ctx, { ...p, status: 'expired' }, now);
      await audit.flush(trx);
      return new DomainError('payment_expired', 'the payment was not authenticated within 15 minutes; start a new one');
    }
    if (p.status === 'expired') return new DomainError('payment_expired', 'the payment was not authenticated within 15 minutes; start a new one');
    // Claimed by an earlier answer whose vault call failed: ask again.
    if (p.status === 'processing' && p.challenge_ref !== null) return { payment: p, askVault: true };
    if (p.status !== 'requires_action') return { payment: p, askVault: false };
    audit.add({ actor, action: 'payment.three_ds_answer', outcome: 'success', targets, details: { result: input.result } });
    const moved = await moveStatusAudited(trx, p.id, 'requires_action', 'processing', now, {}, audit.take());
    if (!moved) throw new Error('payment changed status under its row lock');
    return { payment: { ...p, ...moved }, askVault: true };
  });
  if (claimed instanceof DomainError) throw claimed;
  if (!claimed.askVault) return toView(claimed.payment);
  return toView(await settled(ctx, claimed.payment, await finishChallenge(ctx, claimed.payment, input.result)));
}

/**
 * Steps 2 and 3 for a claimed challenge, also the sweep's: the payment's new row, or undefined
 * when another finisher recorded first. Throws 503 vault_unavailable, leaving it claimed.
 */
export async function finishChallenge(
  ctx: GatewayContext,
  p: SettlingPayment & Pick<PaymentRow, 'challenge_ref'>,
  answer: ChallengeAnswer,
): Promise<MovedPayment | undefined> {
  if (p.challenge_ref === null) throw new Error(`payment ${p.id} has no challenge to finish`);
  let result: AuthorizationResult;
  try {
    result = await completeChallenge(ctx.vault, p.challenge_ref, answer);
  } catch (err) {
    if (!(err instanceof VaultRefusal)) throw err;
    return failPayment(ctx, p, err.code, PROCESSOR.details);
  }
  return recordAuthorization(ctx, undefined, PROCESSOR.actor, p, result, { challenged: true, details: PROCESSOR.details });
}
