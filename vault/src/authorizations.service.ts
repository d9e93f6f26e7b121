// Authorize-and-forward (SP-16, SP-18): the vault decrypts the card in memory, hands it with the
// CVV to the processor, and returns only the outcome and the 3-D Secure result. A card with a CVV
// (held since tokenize, or typed again) is authorized as a stored credential's initial
// cardholder-initiated transaction; a saved card without one, as a subsequent transaction citing
// the network transaction id of its first approved authorization (SP-14.2), which never leaves
// the vault: not in a response, not in an audit event. Idempotent on
// paymentRef: the reference is claimed (unique row) before the processor is called, in the same
// transaction that records the outcome, so a repeat or a racing duplicate gets the first result
// and the card is never authorized twice; if anything fails the claim rolls back with it, and so
// does any event written in it: the failure's one event is written after the rollback. The CVV
// is wiped after the attempt, whatever happened. Two round trips on the vault's pipelined pool:
// begin with find+claim, then record with commit (lib/db.ts pipelinedTransaction).
import { randomBytes } from 'node:crypto';
import { pipelinedTransaction, type PipelinedTransaction } from '../../lib/db.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { cvvValid, isExpired } from './card-number.js';
import { openCard } from './crypto/envelope.js';
import { fingerprintPrefix, recordVaultFailure, vaultAuditEvent, type Caller } from './audit.js';
import {
  findCardAndClaim, recordOutcome, replayByPaymentRef, type AuthorizationRow, type OutcomeUpdate,
} from './storage/authorizations.repository.js';
import { isLive, type CardsTable, type LiveCard } from './storage/database.js';
import type { ProcessorOutcome, StoredCredential } from './processor/processor.js';
import { VaultError } from './errors.js';
import type { VaultContext } from './context.js';
import type { AuthorizationView, AuthorizeBody } from './authorizations.schema.js';

export function authorizationView(row: AuthorizationRow): AuthorizationView {
  if (row.outcome === 'pending') throw new Error(`authorization ${row.id} has no outcome yet`);
  return {
    authorizationId: row.id,
    outcome: row.outcome,
    ...(row.decline_reason ? { declineReason: row.decline_reason } : {}),
    ...(row.outcome === 'challenge_required' && row.challenge_ref ? { challenge: { ref: row.challenge_ref } } : {}),
    threeDS: { enrolled: row.three_ds_enrolled, result: row.three_ds_result },
  };
}

function replay(row: AuthorizationRow, input: AuthorizeBody): AuthorizationView {
  if (row.token !== input.token || row.amount_value !== input.amount.value || row.currency !== input.amount.currency) {
    throw new VaultError('idempotency_conflict', 'this paymentRef was already used for a different card or amount');
  }
  return authorizationView(row);
}

/** What is recorded: the processor's answer, or the vault's own refusal (no processor reference). */
export type Decision = Omit<ProcessorOutcome, 'processorRef'> & { processorRef: string | null };

const EXPIRED: Decision = { processorRef: null, outcome: 'declined', declineReason: 'card_expired', threeDS: { enrolled: false, result: null } };

export const outcomeUpdate = (result: Decision, at: Date, challengeRef: string | null): OutcomeUpdate => ({
  processor_ref: result.processorRef,
  outcome: result.outcome,
  decline_reason: result.declineReason ?? null,
  three_ds_enrolled: result.threeDS.enrolled,
  three_ds_result: result.threeDS.result,
  challenge_ref: challengeRef,
  updated_at: at,
  network_transaction_id: result.outcome === 'approved' ? result.networkTransactionId ?? null : null,
});

// A deleted card (a tombstone) has no fingerprint or key version left to name.
const cardTargets = (card: CardsTable) => ({
  cardToken: card.token,
  ...(card.fingerprint !== null ? { fingerprintPrefix: fingerprintPrefix(card.fingerprint) } : {}),
  ...(card.kek_version !== null ? { keyVersion: card.kek_version } : {}),
});

// The 3-D Secure default of EMV 3DS when the merchant states no preference.
const NO_PREFERENCE = { challengeIndicator: 'no_preference' } as const;

export async function authorize(ctx: VaultContext, caller: Caller, input: AuthorizeBody): Promise<AuthorizationView> {
  // Set once the card is found. An unknown token is not named in its event: it is whatever the
  // caller sent, and a caller's bug could have sent a card number there.
  let card: CardsTable | undefined;
  try {
    return await pipelinedTransaction(ctx.db, async (tx) => {
      const now = ctx.clock.now();
      const id = uuidv7(now);
      const found = await findCardAndClaim(tx.query, {
        id, token: input.token, clientRef: input.clientRef, paymentRef: input.paymentRef,
        amount: input.amount, merchant: input.merchant, at: now,
      });
      if (!found) throw new VaultError('token_unknown', 'no such card token for this client');
      card = found.card;
      // A repeat (or a race lost) gets the first result, without needing the CVV again. Not sent
      // with the commit: a conflicting repeat throws after it, and its replay event rolls back.
      if (!found.claimed) return replay(await replayByPaymentRef(tx.query, input.paymentRef, replayEvent(ctx, caller, found.card, input)), input);
      // SP-16 retention (retention.ts): the card's data is gone; its claim rolls back with this refusal.
      if (!isLive(found.card)) throw new VaultError('card_deleted', 'this card was deleted; it can no longer be used');
      return await authorizeClaimed(ctx, caller, tx, id, found.card, input, now);
    });
  } catch (err) {
    await recordVaultFailure(ctx.db, ctx.clock, caller, {
      action: 'vault.card.authorize', targets: card ? cardTargets(card) : {}, details: { paymentRef: input.paymentRef },
    }, err);
    throw err;
  }
}

/** A repeat of a recorded paymentRef: audited as such, in the statement that reads the first result. */
function replayEvent(ctx: VaultContext, caller: Caller, card: CardsTable, input: AuthorizeBody) {
  return vaultAuditEvent(ctx.clock, caller, {
    action: 'vault.card.authorize', outcome: 'success', targets: cardTargets(card), details: { paymentRef: input.paymentRef, replay: true },
  });
}

/** The first attempt for a paymentRef, claimed in `tx`: CVV, decryption, processor, outcome and its event (committed with it). */
async function authorizeClaimed(
  ctx: VaultContext, caller: Caller, tx: PipelinedTransaction, id: string, card: LiveCard, input: AuthorizeBody, now: Date,
): Promise<AuthorizationView> {
  if (input.cvv !== undefined && !cvvValid(input.cvv, card.brand)) {
    throw new VaultError('card_invalid', 'the security code is not valid');
  }
  // Taken (and so wiped) whether or not the request brought its own CVV: SP-16.
  const held = ctx.cvv.take(card.token);
  const cvv = input.cvv !== undefined ? Buffer.from(input.cvv, 'latin1') : held;
  let storedCredential: StoredCredential;
  if (cvv) storedCredential = { initiator: 'cardholder', sequence: 'initial' };
  else if (card.network_transaction_id !== null) {
    storedCredential = { initiator: 'cardholder', sequence: 'subsequent', networkTransactionId: card.network_transaction_id };
  } else {
    throw new VaultError('cvv_required', 'no security code is held or given and the card has no approved first payment; ask the client for it');
  }
  let result: Decision;
  const plain = await openCard(ctx.keys, { token: card.token, clientRef: card.client_ref }, {
    cardCiphertext: card.card_ciphertext, dekWrapped: card.dek_wrapped, kekVersion: card.kek_version,
  }).catch((err: unknown) => {
    cvv?.fill(0);
    held?.fill(0);
    throw err;
  });
  try {
    result = isExpired(plain.expMonth, plain.expYear, now)
      ? EXPIRED
      : await ctx.processor.authorize({
        pan: plain.pan, expMonth: plain.expMonth, expYear: plain.expYear, ...(cvv ? { cvv } : {}), storedCredential,
        amount: input.amount, merchant: input.merchant, paymentRef: input.paymentRef, threeDS: input.threeDS ?? NO_PREFERENCE,
      });
  } finally {
    plain.pan.fill(0);
    cvv?.fill(0);
    held?.fill(0);
  }
  const challengeRef = result.outcome === 'challenge_required' ? `chl_${randomBytes(16).toString('base64url')}` : null;
  const row = await recordOutcome(tx.commit, id, outcomeUpdate(result, ctx.clock.now(), challengeRef), vaultAuditEvent(ctx.clock, caller, {
    action: 'vault.card.authorize',
    outcome: result.outcome === 'declined' ? 'failure' : 'success',
    targets: cardTargets(card),
    details: {
      authorizationId: id, paymentRef: input.paymentRef, result: result.outcome,
      threeDS: result.threeDS.result, processor: ctx.processor.name, storedCredential: storedCredential.sequence,
    },
  }));
  return authorizationView(row);
}
