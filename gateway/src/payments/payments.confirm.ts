// Confirming a payment with its code (SP-15.2, SP-12) and recording what the vault answered
// (SP-18), in ONE transaction under the payment's row lock: two confirms race for one payment,
// not for one code; the second waits and finds the payment already decided. The vault's
// authorization is idempotent on the payment id, so even a confirm whose commit was lost after
// the vault answered can be retried without authorizing twice. If the vault cannot be reached,
// everything rolls back: the payment still waits for confirmation and the code is unspent.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Secret } from '../../../lib/secret.js';
import type { AuditEvent } from '../../../lib/audit/event.js';
import { AuditBatch } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { verifyOtp } from '../identity/otp.service.js';
import { expireDuePayments, findPayment, lockPayment, moveStatus, type PaymentRow } from './payments.repository.js';
import type { PaymentView } from './payments.schema.js';
import { PAYMENT_WINDOW_MS, type Payer } from './payments.service.js';
import { toView } from './payments.view.js';
import { authorize, clientFacing, VaultRefusal, type AuthorizationResult } from './vault-api.js';
import type { PaymentStatus } from './payments.table.js';

function isDue(row: PaymentRow, now: Date): boolean {
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
    }
    await audit.flush(trx);
    return expired.length;
  });
}

export async function confirmPayment(
  ctx: GatewayContext,
  request: FastifyRequest,
  payer: Payer,
  input: { paymentId: string; code: string; cvv?: string },
): Promise<PaymentView> {
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const audit = new AuditBatch(ctx.clock, request);
    const decided = await confirmLocked(trx, ctx, audit, payer, input);
    await audit.flush(trx);
    return decided;
  });
  if (outcome instanceof DomainError) throw outcome;
  return toView(outcome);
}

/** The confirm itself, under the payment's row lock; returns the payment as it now stands or the refusal to commit. */
async function confirmLocked(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  audit: AuditBatch,
  payer: Payer,
  input: { paymentId: string; code: string; cvv?: string },
): Promise<PaymentRow | DomainError> {
  const actor = { type: 'client' as const, id: payer.id };
  const now = ctx.clock.now();
  const p = await lockPayment(trx, input.paymentId, payer.id);
  if (!p) return new DomainError('not_found', 'no such payment');
  const targets = { clientId: payer.id, paymentId: p.id, cardId: p.card_id };
  if (isDue(p, now)) {
    await moveStatus(trx, p.id, p.status, 'expired', now);
    audit.add({ actor, action: 'payment.expired', outcome: 'success', targets });
    return new DomainError('payment_expired', 'the payment was not confirmed within 15 minutes; start a new one');
  }
  if (p.status !== 'requires_confirmation') return p; // already confirmed: show it, never authorize again
  if (p.card_status === 'blocked') return new DomainError('card_blocked', 'this card was reported lost and is blocked');
  // The client removed the card after starting this payment: its data is being deleted in the vault (SP-16).
  if (p.card_status === 'removed') return new DomainError('card_removed', 'this card was removed; start a new payment with another card');
  const check = await verifyOtp(trx, ctx, { purpose: 'payment', subjectId: p.id, clientId: payer.id, code: input.code });
  if (!check.ok) {
    // Committed: the wrong attempt counts (SP-9's 3 tries).
    audit.add({ actor, action: 'payment.confirm', outcome: 'failure', targets, details: { reason: check.reason } });
    const detail = check.reason === 'otp_expired' ? 'the code has expired' : check.reason === 'otp_attempts_exceeded'
      ? 'too many wrong codes; start a new payment' : 'the code is wrong';
    return new DomainError(check.reason, detail);
  }
  await moveStatus(trx, p.id, 'requires_confirmation', 'processing', now);
  audit.add({ actor, action: 'payment.confirmed', outcome: 'success', targets });
  // Throws (and so rolls back, leaving the code unspent) when the vault is unreachable or needs
  // the CVV (a saved card whose first payment was never approved): the client retries the same confirm.
  return { ...p, ...(await authorizePayment(trx, ctx, audit, p, input.cvv)) };
}

async function authorizePayment(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  audit: AuditBatch,
  p: PaymentRow & { card_token: string },
  cvv: string | undefined,
) {
  let result: AuthorizationResult;
  try {
    result = await authorize(ctx.vault, {
      token: p.card_token, clientRef: p.client_id, ...(cvv !== undefined ? { cvv: new Secret(cvv) } : {}),
      amount: { value: p.amount, currency: p.currency }, merchant: p.provider_name, paymentRef: p.id,
    });
  } catch (err) {
    if (!(err instanceof VaultRefusal)) throw err;
    // No CVV held or given, and the card has no approved first payment to charge it on file
    // (SP-14.2); or the CVV given has the wrong length for the card: the client types it.
    if (err.code === 'cvv_required' || err.code === 'card_invalid') clientFacing(err);
    audit.add({
      actor: { type: 'system' }, action: 'payment.failed', outcome: 'failure',
      targets: { clientId: p.client_id, paymentId: p.id }, details: { reason: err.code },
    });
    return underLock(await moveStatus(trx, p.id, 'processing', 'failed', ctx.clock.now(), { declineReason: `vault_${err.code}`.slice(0, 64) }));
  }
  return underLock(await recordAuthorization(trx, ctx, audit, { type: 'client', id: p.client_id }, p, 'processing', result));
}

/** A move made under the row lock this transaction holds cannot find the payment elsewhere. */
function underLock<T>(moved: T | undefined): T {
  if (moved === undefined) throw new Error('payment changed status under its row lock');
  return moved;
}

/**
 * Records an authorization (or a finished 3-D Secure challenge) on a payment still in `from`:
 * its status, 3-D Secure outcome and enrolment, each as an audit event. A concurrent finisher
 * that got there first makes this a no-op.
 */
export async function applyAuthorization(
  ctx: GatewayContext,
  request: FastifyRequest | undefined,
  p: Pick<PaymentRow, 'id' | 'client_id' | 'card_id'>,
  from: 'processing' | 'requires_action',
  result: AuthorizationResult,
): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const audit = new AuditBatch(ctx.clock, request);
    await recordAuthorization(trx, ctx, audit, request ? { type: 'client', id: p.client_id } : { type: 'system' }, p, from, result);
    await audit.flush(trx);
  });
}

/** Returns the payment's new row, or undefined when it was no longer in `from`. */
async function recordAuthorization(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  audit: AuditBatch,
  actor: AuditEvent['actor'],
  p: Pick<PaymentRow, 'id' | 'client_id' | 'card_id'>,
  from: 'processing' | 'requires_action',
  result: AuthorizationResult,
) {
  const now = ctx.clock.now();
  const to: PaymentStatus = result.outcome === 'approved' ? 'succeeded'
    : result.outcome === 'challenge_required' ? 'requires_action'
      : from === 'requires_action' ? 'failed' : 'declined';
  if (to === 'requires_action' && !result.challenge?.ref) throw new Error('vault asked for a challenge without a challenge ref');
  const targets = { clientId: p.client_id, paymentId: p.id, cardId: p.card_id };
  const moved = await moveStatus(trx, p.id, from, to, now, {
    authorizationId: result.authorizationId,
    declineReason: result.declineReason ?? null,
    threeDS: result.threeDS,
    ...(to === 'requires_action' ? { challengeRef: result.challenge!.ref, expiresAt: new Date(now.getTime() + PAYMENT_WINDOW_MS) } : {}),
  });
  if (!moved) return undefined;
  const action = to === 'succeeded' ? 'payment.authorized' : to === 'requires_action' ? 'payment.challenge_required' : 'payment.declined';
  audit.add({
    actor, action, outcome: to === 'succeeded' || to === 'requires_action' ? 'success' : 'failure', targets,
    details: { status: to, ...(result.declineReason ? { declineReason: result.declineReason.slice(0, 200) } : {}) },
  });
  if (result.threeDS.result !== null) {
    audit.add({
      actor, action: 'payment.three_ds', outcome: result.threeDS.result === 'failed' ? 'failure' : 'success', targets,
      details: { result: result.threeDS.result, enrolled: result.threeDS.enrolled },
    });
  }
  return moved;
}
