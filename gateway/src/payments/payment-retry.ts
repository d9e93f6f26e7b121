// Finishes payments left `processing` (issue 13, pool exhaustion): a confirm or a 3-D Secure
// answer claims its payment before asking the vault, so a vault that cannot be reached (or a
// gateway that dies before recording the answer) leaves it there. The payments sweep runs this to
// ask the vault again: the vault's authorization is idempotent on the payment id and its
// challenge completion on the challenge ref, and only a payment still `processing` is recorded,
// so a payment is authorized and recorded once however often it is asked for.
//
// What asking again cannot do: send a CVV (the client's own repeated confirm brings one when the
// vault asks for it), or know a cardholder's answer that never reached the vault. Such a payment
// waits for the client until its window has passed, then fails (a challenge as not authenticated,
// which moves no money), with its audit event. A vault that cannot be reached keeps the payment
// `processing`, retried every sweep: whether it authorized is unknown until it answers.
import type { FastifyBaseLogger } from 'fastify';
import { MINUTE } from '../../../lib/clock.js';
import type { GatewayContext } from '../context.js';
import { failPayment, recordAuthorization } from './payments.confirm.js';
import { claimStuckPayments, type MovedPayment } from './payments.repository.js';
import { finishChallenge } from './three-ds.complete.js';
import { authorize, getChallenge, VaultRefusal, type AuthorizationResult } from './vault-api.js';

const RETRY = { type: 'system' as const, id: 'payment-retry' };

export interface PaymentRetryOptions {
  /** How long a payment stays processing, after its claim or last retry, before it is asked for again. */
  graceMs?: number;
  /** At most this many payments per call, each a vault call in turn. */
  limit?: number;
}

type StuckPayment = Awaited<ReturnType<typeof claimStuckPayments>>[number];

/** Asks the vault again for the payments due; returns the ones recorded (or found recorded). */
export async function retryStuckPayments(
  ctx: GatewayContext,
  now: Date,
  log: FastifyBaseLogger,
  { graceMs = MINUTE, limit = 20 }: PaymentRetryOptions = {},
): Promise<MovedPayment[]> {
  const due = await claimStuckPayments(ctx.db, { now, dueBefore: new Date(now.getTime() - graceMs), limit });
  const recorded: MovedPayment[] = [];
  for (const p of due) {
    try {
      const moved = await askAgain(ctx, p, p.expires_at.getTime() <= now.getTime());
      if (moved) recorded.push(moved);
    } catch (err) {
      // One payment the vault cannot answer for must not hold up the others; it is retried next time.
      log.warn({ err, paymentId: p.id }, 'payment retry failed; it stays processing');
    }
  }
  return recorded;
}

async function askAgain(ctx: GatewayContext, p: StuckPayment, pastWindow: boolean): Promise<MovedPayment | undefined> {
  if (p.challenge_ref !== null) {
    // The vault's challenge shows whether the cardholder's answer reached it.
    const challenge = await getChallenge(ctx.vault, p.challenge_ref);
    if (challenge.status === 'pending' && !pastWindow) return undefined;
    return finishChallenge(ctx, p, challenge.status === 'passed' ? 'pass' : 'fail');
  }
  let result: AuthorizationResult;
  try {
    result = await authorize(ctx.vault, {
      token: p.card_token, clientRef: p.client_id,
      amount: { value: p.amount, currency: p.currency }, merchant: p.provider_name, paymentRef: p.id,
    });
  } catch (err) {
    if (!(err instanceof VaultRefusal)) throw err;
    if (err.code === 'cvv_required' && !pastWindow) return undefined; // the client's confirm with the CVV finishes it
    return failPayment(ctx, p, err.code);
  }
  return recordAuthorization(ctx, undefined, RETRY, p, result);
}
