// 3-D Secure challenge (SP-18): the gateway shows the sandbox ACS page from GET /v1/challenges/{ref}
// and reports the cardholder's answer; the vault asks the processor to finish the authorization.
// The row lock makes completion idempotent: a second or racing call returns the first result.
import { findChallenge, recordOutcome, type ChallengeRow } from './storage/authorizations.repository.js';
import { authorizationView, outcomeUpdate } from './authorizations.service.js';
import { vaultAuditEvent, type Caller } from './audit.js';
import { VaultError } from './errors.js';
import type { VaultContext } from './context.js';
import type { AuthorizationView, ChallengeView } from './authorizations.schema.js';

function challengeView(row: ChallengeRow): ChallengeView {
  const status = row.three_ds_result === 'challenged' ? 'passed' : row.three_ds_result === 'failed' ? 'failed' : 'pending';
  return {
    ref: row.challenge_ref!,
    status,
    amount: { value: row.amount_value, currency: row.currency },
    merchant: row.merchant,
    last4: row.last4,
  };
}

export async function getChallenge(ctx: VaultContext, ref: string): Promise<ChallengeView> {
  const row = await findChallenge(ctx.db, ref);
  if (!row) throw new VaultError('challenge_unknown', 'no such challenge');
  return challengeView(row);
}

export async function completeChallenge(ctx: VaultContext, caller: Caller, ref: string, passed: boolean): Promise<AuthorizationView> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await findChallenge(trx, ref, true);
    if (!row) throw new VaultError('challenge_unknown', 'no such challenge');
    if (row.outcome !== 'challenge_required') return authorizationView(row);
    const result = await ctx.processor.completeChallenge({
      processorRef: row.processor_ref!, passed, amount: { value: row.amount_value, currency: row.currency },
    });
    const updated = await recordOutcome((q) => q.execute(trx), row.id, outcomeUpdate(result, ctx.clock.now(), ref), vaultAuditEvent(ctx.clock, caller, {
      action: 'vault.challenge.complete',
      outcome: result.outcome === 'approved' ? 'success' : 'failure',
      targets: { cardToken: row.token },
      details: { authorizationId: row.id, paymentRef: row.payment_ref, result: result.outcome, threeDS: result.threeDS.result },
    }));
    return authorizationView(updated);
  });
}
