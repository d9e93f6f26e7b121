// Confirming a payment with its code (SP-15.2, SP-12) and recording what the vault answered
// (SP-18), in three steps so that no database connection or row lock is held while the vault is
// asked (a slow vault would otherwise drain the pool):
// 1. under the payment's row lock, check the code and claim the payment: requires_confirmation →
//    processing, audited, committed. Two confirms race for one payment, not for one code.
// 2. ask the vault, holding nothing. Its authorization is idempotent on the payment id, so asking
//    again (a repeated confirm, a racing one, the sweep in payment-retry.ts) never authorizes twice.
// 3. record the answer from `processing`, with its audit events, in one statement; whoever
//    records first wins, the others show the payment as it stands.
// A vault that cannot be reached leaves the payment `processing` with its code spent: the client
// gets 503 vault_unavailable and may confirm again, and the sweep asks the vault again meanwhile.
import type { Kysely } from 'kysely';
import { Secret } from '../../../lib/secret.js';
import type { AuditEvent } from '../../../lib/audit/event.js';
import { AuditBatch, type RequestOrigin } from '../audit/record.js';
import { recordPaymentMoved } from '../checkout/payment-events.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { checkReservedCode } from '../identity/otp.service.js';
import { giveBackGuess, takeGuess } from '../identity/otp.guesses.js';
import { attemptReservationWhere, type ReservedAttempt } from '../identity/otp.repository.js';
import {
  expireDuePayments, findPayment, lockPayment, lockPaymentReservingAttempt, moveStatus, moveStatusAudited, type MovedPayment, type PaymentRow,
} from './payments.repository.js';
import type { PaymentView } from './payments.schema.js';
import { PAYMENT_WINDOW_MS, type Payer } from './payments.service.js';
import { toView } from './payments.view.js';
import { authorize, clientFacing, VaultRefusal, type AuthorizationResult } from './vault-api.js';
import type { PaymentStatus } from './payments.table.js';
import type { PaymentOutcome } from '../metrics.js';

export function isDue(row: Pick<PaymentRow, 'status' | 'expires_at'>, now: Date): boolean {
  return (row.status === 'requires_confirmation' || row.status === 'requires_action') && row.expires_at.getTime() <= now.getTime();
}

/** Expires the payment if its window has passed; reads never show a stale open status. */
export async function currentPayment(ctx: GatewayContext, id: string, clientId?: string): Promise<PaymentRow | undefined> {
  const row = await findPayment(ctx.db, id, clientId);
  if (!row || !isDue(row, ctx.clock.now())) return row;
  await expirePayments(ctx, ctx.clock.now(), row.id);
  return findPayment(ctx.db, id, clientId);
}

/** Expires due payments (one or all), each with its audit event. */
export async function expirePayments(ctx: GatewayContext, now: Date, id?: string): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const expired = await expireDuePayments(trx, now, id);
    const audit = new AuditBatch(ctx.clock, undefined);
    for (const p of expired) {
      audit.add({ actor: { type: 'system' }, action: 'payment.expired', outcome: 'success', targets: { clientId: p.client_id, paymentId: p.id } });
      await recordPaymentMoved(trx, ctx, { ...p, status: 'expired' }, now);
    }
    await audit.flush(trx);
    return expired.length;
  }).then((n) => {
    for (let i = 0; i < n; i += 1) ctx.metrics.payment('expired');
    return n;
  });
}

/** A payment as step 1 left it, with its card's vault token. */
export type LockedPayment = PaymentRow & { card_token: string };

export async function confirmPayment(
  ctx: GatewayContext,
  origin: RequestOrigin,
  payer: Payer,
  input: { paymentId: string; code: string; cvv?: string },
): Promise<PaymentView> {
  const claimed = await ctx.db.transaction().execute(async (trx) => {
    const audit = new AuditBatch(ctx.clock, origin);
    const decided = await confirmLocked(trx, ctx, audit, payer, input);
    await audit.flush(trx);
    return decided;
  });
  if (claimed instanceof DomainError) {
    if (claimed.code === 'payment_expired') ctx.metrics.payment('expired');
    throw claimed;
  }
  if (!claimed.askVault) return toView(claimed.payment);
  return toView(await authorizePayment(ctx, origin, claimed.payment, input.cvv));
}

/**
 * Step 1, under the payment's row lock: the payment claimed for the vault (askVault), the payment
 * as it stands, or the refusal to commit.
 */
async function confirmLocked(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  audit: AuditBatch,
  payer: Payer,
  input: { paymentId: string; code: string; cvv?: string },
): Promise<{ payment: LockedPayment; askVault: boolean } | DomainError> {
  const actor = { type: 'client' as const, id: payer.id };
  const now = ctx.clock.now();
  // The client's daily wrong-code slot is taken before the payment is locked, so that the lock and
  // the count of this attempt on the payment's code are one statement (otp.guesses.ts); it is given
  // back unless a live code was compared and did not match. At the cap nothing is counted.
  const guess = await takeGuess(ctx, payer.id);
  let wrongGuess = false;
  try {
    const locked = guess.ok
      ? await lockPaymentReservingAttempt(trx, input.paymentId, payer.id, now, (guard) => attemptReservationWhere('payment', input.paymentId, now, guard))
      : await lockPayment(trx, input.paymentId, payer.id).then((payment) => payment && { payment, reserved: undefined });
    if (!locked) return new DomainError('not_found', 'no such payment');
    const result = await decideLocked(trx, ctx, audit, actor, locked.payment, input, now, guess.ok ? locked.reserved : guess);
    wrongGuess = result.wrongGuess;
    return result.decided;
  } finally {
    if (guess.ok && !wrongGuess) await giveBackGuess(ctx, guess.key);
  }
}

type Decided = { payment: LockedPayment; askVault: boolean } | DomainError;

/**
 * confirmLocked's decision on the locked payment. `reserved` is the attempt its lock counted, or
 * the wait the daily wrong-code cap imposes (nothing counted).
 */
async function decideLocked(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  audit: AuditBatch,
  actor: { type: 'client'; id: string },
  p: LockedPayment,
  input: { paymentId: string; code: string },
  now: Date,
  reserved: ReservedAttempt | { ok: false; retryAfterSeconds: number } | undefined,
): Promise<{ decided: Decided; wrongGuess: boolean }> {
  const targets = { clientId: actor.id, paymentId: p.id, cardId: p.card_id };
  const decided = (d: Decided) => ({ decided: d, wrongGuess: false });
  if (isDue(p, now)) {
    await moveStatus(trx, p.id, p.status, 'expired', now);
    audit.add({ actor, action: 'payment.expired', outcome: 'success', targets });
    await recordPaymentMoved(trx, ctx, { ...p, status: 'expired' }, now);
    return decided(new DomainError('payment_expired', 'the payment was not confirmed within 15 minutes; start a new one'));
  }
  // Confirmed with its code before, and the vault's answer never recorded (it could not be
  // reached, or it asked for the CVV): ask it again. The code was spent then, so it is not
  // checked again; a 3-D Secure completion in flight (a challenge ref) is not a confirm's to finish.
  if (p.status === 'processing' && p.challenge_ref === null) return decided({ payment: p, askVault: true });
  if (p.status !== 'requires_confirmation') return decided({ payment: p, askVault: false }); // already decided: show it, never authorize again
  if (p.card_status === 'blocked') return decided(new DomainError('card_blocked', 'this card was reported lost and is blocked'));
  // The client removed the card after starting this payment: its data is being deleted in the vault (SP-16).
  if (p.card_status === 'removed') return decided(new DomainError('card_removed', 'this card was removed; start a new payment with another card'));
  // The right code's consumption and the claim for the vault are one statement.
  let moved: MovedPayment | undefined;
  const { check, wrongGuess } = reserved !== undefined && 'retryAfterSeconds' in reserved
    ? { check: { ok: false, reason: 'otp_attempts_exceeded', retryAfterSeconds: reserved.retryAfterSeconds } as const, wrongGuess: false }
    : await checkReservedCode(trx, ctx, {
      purpose: 'payment', subjectId: p.id, code: input.code,
      consumeWith: async (consumption) => {
        audit.add({ actor, action: 'payment.confirmed', outcome: 'success', targets });
        moved = await moveStatusAudited(trx, p.id, 'requires_confirmation', 'processing', now, {}, audit.take(), consumption);
        return moved !== undefined;
      },
    }, reserved, now);
  ctx.metrics.otpCheck('payment', check.ok ? 'ok' : check.reason);
  if (!check.ok) {
    // Committed: the wrong attempt counts (SP-9's 3 tries).
    audit.add({ actor, action: 'payment.confirm', outcome: 'failure', targets, details: { reason: check.reason } });
    // The client's daily cap on wrong codes refused the check unevaluated: the payment may still be
    // confirmed once the day turns, so say when rather than "start a new payment".
    if (check.retryAfterSeconds !== undefined) {
      return { decided: new DomainError(check.reason, `too many wrong codes today; retry in ${check.retryAfterSeconds} s`, { 'retry-after': String(check.retryAfterSeconds) }), wrongGuess };
    }
    const detail = check.reason === 'otp_expired' ? 'the code has expired' : check.reason === 'otp_attempts_exceeded'
      ? 'too many wrong codes; start a new payment' : 'the code is wrong';
    return { decided: new DomainError(check.reason, detail), wrongGuess };
  }
  // Under the row lock the move cannot miss: a right code that was not consumed answered otp_invalid above.
  return decided({ payment: { ...p, ...underLock(moved) }, askVault: true });
}

/** Steps 2 and 3: asks the vault to authorize a `processing` payment and records its answer. */
async function authorizePayment(ctx: GatewayContext, origin: RequestOrigin, p: LockedPayment, cvv: string | undefined): Promise<PaymentRow> {
  let result: AuthorizationResult;
  try {
    result = await authorize(ctx.vault, {
      token: p.card_token, clientRef: p.client_id, ...(cvv !== undefined ? { cvv: new Secret(cvv) } : {}),
      amount: { value: p.amount, currency: p.currency }, merchant: p.provider_name, paymentRef: p.id,
    });
  } catch (err) {
    // Unreachable (503 vault_unavailable): the payment stays processing, to be asked for again.
    if (!(err instanceof VaultRefusal)) throw err;
    // No CVV held or given, and the card has no approved first payment to charge it on file
    // (SP-14.2); or the CVV given has the wrong length for the card: the payment stays processing
    // and the client confirms again with the CVV.
    if (err.code === 'cvv_required' || err.code === 'card_invalid') clientFacing(err);
    return settled(ctx, p, await failPayment(ctx, p, err.code));
  }
  return settled(ctx, p, await recordAuthorization(ctx, origin, { type: 'client', id: p.client_id }, p, result));
}

/** The payment after step 3: as recorded, or as whoever recorded first left it. */
export async function settled(ctx: GatewayContext, p: PaymentRow, moved: MovedPayment | undefined): Promise<PaymentRow> {
  if (moved) return { ...p, ...moved };
  const current = await findPayment(ctx.db, p.id);
  if (!current) throw new Error(`payment ${p.id} vanished`);
  return current;
}

/** A step 1 move under the row lock this transaction holds cannot find the payment elsewhere. */
function underLock<T>(moved: T | undefined): T {
  if (moved === undefined) throw new Error('payment changed status under its row lock');
  return moved;
}

/** What step 3 needs of a payment: a checkout session's payment also has its merchant's events written. */
export type SettlingPayment = Pick<PaymentRow, 'id' | 'client_id' | 'card_id' | 'checkout_session_id'>;

/**
 * Step 3's move from `processing`: one statement for a client's own payment; for a checkout
 * session's, a transaction that also writes the merchant's events (and completes the session).
 */
async function settle(
  ctx: GatewayContext,
  p: SettlingPayment,
  to: PaymentStatus,
  now: Date,
  fields: Parameters<typeof moveStatusAudited>[5],
  events: AuditEvent[],
): Promise<MovedPayment | undefined> {
  if (p.checkout_session_id === null) return moveStatusAudited(ctx.db, p.id, 'processing', to, now, fields, events);
  return ctx.db.transaction().execute(async (trx) => {
    const moved = await moveStatusAudited(trx, p.id, 'processing', to, now, fields, events);
    if (moved) await recordPaymentMoved(trx, ctx, moved, now);
    return moved;
  });
}

/** The vault refused the call itself (not the card): processing → failed, audited by the system. */
export async function failPayment(
  ctx: GatewayContext,
  p: SettlingPayment,
  vaultCode: string,
  details: Record<string, string> = {},
): Promise<MovedPayment | undefined> {
  const audit = new AuditBatch(ctx.clock, undefined);
  audit.add({
    actor: { type: 'system' }, action: 'payment.failed', outcome: 'failure',
    targets: { clientId: p.client_id, paymentId: p.id }, details: { reason: vaultCode, ...details },
  });
  const moved = await settle(ctx, p, 'failed', ctx.clock.now(), { declineReason: `vault_${vaultCode}`.slice(0, 64) }, audit.take());
  if (moved) ctx.metrics.payment('failed', vaultCode);
  return moved;
}

/**
 * Step 3: records an authorization (or a finished 3-D Secure challenge: `challenged`) on a payment
 * still `processing`: its status, 3-D Secure outcome and enrolment, each as an audit event by
 * `actor`, in one statement. Returns the new row, or undefined when another finisher got there first.
 */
export async function recordAuthorization(
  ctx: GatewayContext,
  origin: RequestOrigin | undefined,
  actor: AuditEvent['actor'],
  p: SettlingPayment,
  result: AuthorizationResult,
  opts: { challenged?: boolean; details?: Record<string, string> } = {},
): Promise<MovedPayment | undefined> {
  const now = ctx.clock.now();
  const to: PaymentStatus = result.outcome === 'approved' ? 'succeeded'
    : result.outcome === 'challenge_required' ? 'requires_action'
      : opts.challenged ? 'failed' : 'declined';
  if (to === 'requires_action' && !result.challenge?.ref) throw new Error('vault asked for a challenge without a challenge ref');
  const targets = { clientId: p.client_id, paymentId: p.id, cardId: p.card_id };
  const audit = new AuditBatch(ctx.clock, origin);
  const action = to === 'succeeded' ? 'payment.authorized' : to === 'requires_action' ? 'payment.challenge_required' : 'payment.declined';
  audit.add({
    actor, action, outcome: to === 'succeeded' || to === 'requires_action' ? 'success' : 'failure', targets,
    details: { status: to, ...(result.declineReason ? { declineReason: result.declineReason.slice(0, 200) } : {}), ...opts.details },
  });
  if (result.threeDS.result !== null) {
    audit.add({
      actor, action: 'payment.three_ds', outcome: result.threeDS.result === 'failed' ? 'failure' : 'success', targets,
      details: { result: result.threeDS.result, enrolled: result.threeDS.enrolled, ...opts.details },
    });
  }
  const moved = await settle(ctx, p, to, now, {
    authorizationId: result.authorizationId,
    declineReason: result.declineReason ?? null,
    threeDS: result.threeDS,
    ...(to === 'requires_action' ? { challengeRef: result.challenge!.ref, expiresAt: new Date(now.getTime() + PAYMENT_WINDOW_MS) } : {}),
  }, audit.take());
  // Counted by whoever recorded the answer: a racing finisher that found it recorded counts nothing.
  if (moved) ctx.metrics.payment(to as PaymentOutcome, result.declineReason);
  return moved;
}
