// Disputes (SP-18 … SP-20). A client disputes one of their completed payments; the dispute is a
// case staff list, annotate and resolve. SP-18: when the payment's 3-D Secure was bypassed although
// the card is enrolled, the bank refunds it at once, whatever reason the client gave. SP-19: a
// lost-card report also blocks that saved card. All of it is audited against the client, so
// the investigators' export (GET /v1/clients/{id}/audit on the admin listener) tells the story.
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import { recordPaymentEvent } from '../checkout/payment-events.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { blockCard } from './cards.repository.js';
import { findDispute, insertDispute, insertNote, listNotes, resolveDispute, type DisputeRow } from './disputes.repository.js';
import { lockPayment } from './payments.repository.js';
import type { DisputeReason } from './payments.table.js';
import { committedRefunds, listRefunds } from './refunds.repository.js';
import { executeRefund, reserveRefund, type ReservedRefund, type RefundView } from './refunds.service.js';
import type { Payer } from './payments.service.js';

const SYSTEM = { type: 'system' as const, id: 'sp18-auto-refund' };

export function disputeView(d: DisputeRow) {
  return {
    id: d.id,
    clientId: d.client_id,
    paymentId: d.payment_id,
    reason: d.reason,
    status: d.status,
    outcome: d.outcome,
    threeDS: d.three_ds_enrolled === null ? null : { enrolled: d.three_ds_enrolled, result: d.three_ds_result },
    createdAt: d.created_at.toISOString(),
    resolvedAt: d.resolved_at?.toISOString() ?? null,
    resolvedBy: d.resolved_by,
  };
}

export async function openDispute(
  ctx: GatewayContext,
  origin: RequestOrigin,
  log: FastifyBaseLogger,
  payer: Payer,
  input: { paymentId: string; reason: DisputeReason },
): Promise<ReturnType<typeof disputeView> & { refund: RefundView | null }> {
  const actor = { type: 'client' as const, id: payer.id };
  const opened = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const p = await lockPayment(trx, input.paymentId, payer.id);
    if (!p) throw new DomainError('not_found', 'no such payment');
    if (p.status !== 'succeeded' && p.status !== 'partially_refunded') {
      throw new DomainError('dispute_not_allowed', `a ${p.status} payment took no money to dispute`);
    }
    const id = uuidv7(now);
    const inserted = await insertDispute(trx, {
      id, clientId: payer.id, paymentId: p.id, reason: input.reason,
      threeDsResult: p.three_ds_result, threeDsEnrolled: p.three_ds_enrolled, now,
    });
    if (!inserted) throw new DomainError('dispute_exists', 'this payment is already disputed');
    const targets = { clientId: payer.id, paymentId: p.id, disputeId: id, cardId: p.card_id };
    await recordAudit(trx, ctx.clock, origin, {
      actor, action: 'dispute.opened', outcome: 'success', targets,
      details: { reason: input.reason, threeDsResult: p.three_ds_result, threeDsEnrolled: p.three_ds_enrolled },
    });
    if (p.checkout_session_id !== null) {
      await recordPaymentEvent(trx, p.id, 'dispute.opened', { id, paymentId: p.id, reason: input.reason, status: 'open', outcome: null }, now);
    }
    if (input.reason === 'lost_card' && (await blockCard(trx, p.card_id, now))) {
      await recordAudit(trx, ctx.clock, origin, { actor, action: 'card.blocked', outcome: 'success', targets, details: { reason: 'lost_card' } });
    }
    let reserved: ReservedRefund | undefined;
    const bypassedEnrolled = p.three_ds_result === 'bypassed' && p.three_ds_enrolled === true;
    if (bypassedEnrolled && (await committedRefunds(trx, p.id)) < p.amount) {
      reserved = await reserveRefund(trx, ctx, origin, p, { disputeId: id, actor: SYSTEM });
    }
    return { id, reserved };
  });
  // A vault outage leaves the refund pending and the case open; the sweep's retry closes it.
  const refund = opened.reserved
    ? await executeRefund(ctx, opened.reserved, { actor: SYSTEM, origin, log, onSucceeded: closeAsRefunded(ctx, origin, opened.id) })
    : null;
  return { ...disputeView((await findDispute(ctx.db, opened.id))!), refund };
}

/**
 * SP-18: the automatic refund of a dispute closes it as refunded, in the transaction that records
 * the refund's success, whether that is the dispute's own request or a later retry.
 */
export function closeAsRefunded(ctx: GatewayContext, origin: RequestOrigin | undefined, disputeId: string) {
  return async (trx: Kysely<GatewayDatabase>): Promise<void> => {
    await resolveIn(trx, ctx, origin, disputeId, 'refunded', SYSTEM, 'SP-18: 3-D Secure bypassed for an enrolled card');
  };
}

/** Resolves a dispute still open; false when it was not. */
async function resolveIn(
  trx: Kysely<GatewayDatabase>,
  ctx: GatewayContext,
  origin: RequestOrigin | undefined,
  id: string,
  outcome: 'refunded' | 'upheld' | 'rejected',
  actor: { type: 'staff' | 'system'; id: string },
  note?: string,
): Promise<boolean> {
  const now = ctx.clock.now();
  const done = await resolveDispute(trx, id, outcome, actor.id, now);
  if (!done) return false;
  if (note) await insertNote(trx, { id: uuidv7(now), disputeId: id, author: actor.id, text: note, now });
  await recordAudit(trx, ctx.clock, origin, {
    actor, action: 'dispute.resolved', outcome: 'success',
    targets: { clientId: done.client_id, paymentId: done.payment_id, disputeId: id }, details: { outcome },
  });
  await recordPaymentEvent(trx, done.payment_id, 'dispute.closed', { id, paymentId: done.payment_id, status: 'resolved', outcome }, now);
  return true;
}

/** Staff close a case. */
export async function resolveCase(ctx: GatewayContext, origin: RequestOrigin, staff: string, id: string, outcome: 'upheld' | 'rejected', note?: string) {
  const resolved = await ctx.db.transaction().execute((trx) => resolveIn(trx, ctx, origin, id, outcome, { type: 'staff', id: staff }, note));
  if (!resolved) {
    const exists = await findDispute(ctx.db, id);
    throw exists ? new DomainError('conflict', 'this dispute is already resolved') : new DomainError('not_found', 'no such dispute');
  }
  return caseFile(ctx, id);
}

export async function annotateCase(ctx: GatewayContext, origin: RequestOrigin, staff: string, id: string, text: string) {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const dispute = await findDispute(trx, id);
    if (!dispute) throw new DomainError('not_found', 'no such dispute');
    const noteId = uuidv7(now);
    await insertNote(trx, { id: noteId, disputeId: id, author: staff, text, now });
    await recordAudit(trx, ctx.clock, origin, {
      actor: { type: 'staff', id: staff }, action: 'dispute.note_added', outcome: 'success',
      targets: { clientId: dispute.client_id, paymentId: dispute.payment_id, disputeId: id },
    });
    return { id: noteId, author: staff, text, createdAt: now.toISOString() };
  });
}

/** A case as staff see it: the dispute, its notes and refunds, and where the audit trail is. */
export async function caseFile(ctx: GatewayContext, id: string) {
  const dispute = await findDispute(ctx.db, id);
  if (!dispute) throw new DomainError('not_found', 'no such dispute');
  const [notes, refunds] = await Promise.all([listNotes(ctx.db, id), listRefunds(ctx.db, dispute.payment_id)]);
  const from = new Date(dispute.created_at.getTime() - 90 * 24 * 3_600_000).toISOString();
  return {
    ...disputeView(dispute),
    notes: notes.map((n) => ({ id: n.id, author: n.author, text: n.text, createdAt: n.created_at.toISOString() })),
    refunds: refunds.map((r) => ({
      id: r.id, amount: { value: r.amount, currency: r.currency }, status: r.status, requestedBy: r.requested_by,
      disputeId: r.dispute_id, createdAt: r.created_at.toISOString(),
    })),
    auditExport: `/v1/clients/${dispute.client_id}/audit?from=${encodeURIComponent(from)}`,
  };
}
