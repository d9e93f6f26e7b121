// Refunds of approved authorizations (SP-18, SP-19), idempotent on refundRef, also when repeats
// race. The authorization row is locked while the refunded total is checked, so racing refunds
// can never exceed it.
import { uuidv7 } from '../../lib/uuidv7.js';
import { findRefundByRef, insertRefund, lockAuthorization, refundedTotal } from './storage/authorizations.repository.js';
import { recordVaultAudit, type Caller } from './audit.js';
import { VaultError } from './errors.js';
import type { VaultContext } from './context.js';
import type { RefundBody, RefundView } from './authorizations.schema.js';

function replay(existing: { id: string; authorization_id: string; amount_value: number; status: 'succeeded' }, input: RefundBody): RefundView {
  if (existing.authorization_id !== input.authorizationId || existing.amount_value !== input.amount.value) {
    throw new VaultError('idempotency_conflict', 'this refundRef was already used for a different refund');
  }
  return { refundId: existing.id, status: existing.status };
}

export async function refund(ctx: VaultContext, caller: Caller, input: RefundBody): Promise<RefundView> {
  return ctx.db.transaction().execute(async (trx) => {
    const auth = await lockAuthorization(trx, input.authorizationId);
    if (!auth) throw new VaultError('authorization_unknown', 'no such authorization');
    // Looked up under the lock: a repeat racing its first call waits here and replays it, where a
    // look-up before the lock would count the first call's refund against the repeat and refuse it.
    const existing = await findRefundByRef(trx, input.refundRef);
    if (existing) return replay(existing, input);
    if (auth.outcome !== 'approved') throw new VaultError('refund_not_allowed', 'only an approved authorization can be refunded');
    if (auth.currency !== input.amount.currency) throw new VaultError('refund_not_allowed', 'the refund currency differs from the payment');
    const total = await refundedTotal(trx, auth.id);
    if (total + input.amount.value > auth.amount_value) {
      throw new VaultError('refund_not_allowed', 'the refunds would exceed the authorized amount');
    }
    const now = ctx.clock.now();
    const id = uuidv7(now);
    const inserted = await insertRefund(trx, {
      id, refund_ref: input.refundRef, authorization_id: auth.id, amount_value: input.amount.value,
      currency: input.amount.currency, status: 'succeeded', created_at: now,
    });
    if (!inserted) return replay((await findRefundByRef(trx, input.refundRef))!, input);
    const result = await ctx.processor.refund({ processorRef: auth.processor_ref!, amount: input.amount, refundRef: input.refundRef });
    await recordVaultAudit(trx, ctx.clock, caller, {
      action: 'vault.refund',
      outcome: 'success',
      targets: { cardToken: auth.token, refundId: id },
      details: { authorizationId: auth.id, paymentRef: auth.payment_ref, amount: input.amount.value, currency: input.amount.currency },
    });
    return { refundId: id, status: result.status };
  });
}
