// Card data retention (SP-16, PCI DSS 3.2.1): the vault keeps a card's data only while it can be
// used. A card is deleted (its row becomes a tombstone, storage/retention.repository.ts)
//  - when the gateway asks, after the client removed the saved card (DELETE /v1/tokens/{token});
//  - by the retention sweep, once it is older than RETENTION_WINDOW_MS and was never used in an
//    approved authorization: cards whose first payment expired, was declined or abandoned, and
//    cards the gateway refused after tokenizing them (SP-15.3's three cards a month). The gateway
//    lists a card as saved only after an approved payment with it, so it never offers one of these.
// A tombstone can never be authorized again (`card_deleted`); refunds and challenge pages of its
// past payments still work, as they use the authorization row and the processor's reference.
// Every deletion is audited (`vault.card.deleted`, with its reason) in the statement that makes it.
import type { FastifyBaseLogger } from 'fastify';
import { HOUR } from '../../lib/clock.js';
import { fingerprintPrefix, recordVaultAudit, recordVaultFailure, vaultAuditEvent, type Caller } from './audit.js';
import { VaultError } from './errors.js';
import type { VaultContext } from './context.js';
import type { CardDeletionReason } from './storage/database.js';
import { lockClientCard, lockUnusedCards, tombstoneCards, type CardToDelete } from './storage/retention.repository.js';
import type { AuditEvent } from '../../lib/audit/event.js';

/**
 * How long a card never used in an approved authorization is kept. A payment waits 15 minutes for
 * its code and a 3-D Secure challenge up to 15 more; a day also lets a client who comes back later
 * (a new session, the CVV typed again) finish with the same token, and covers clock skew and a
 * stopped sweep with room to spare.
 */
export const RETENTION_WINDOW_MS = 24 * HOUR;

/** Cards deleted per transaction: each batch's row locks are short, whatever the backlog. */
export const RETENTION_BATCH_SIZE = 500;

/** The sweep's identity in its audit events (it acts for no caller). */
export const RETENTION_SWEEPER: Caller = { identity: 'vault-retention' };

function deletionEvent(ctx: VaultContext, caller: Caller, card: CardToDelete, reason: CardDeletionReason): AuditEvent {
  return vaultAuditEvent(ctx.clock, caller, {
    action: 'vault.card.deleted',
    outcome: 'success',
    targets: {
      cardToken: card.token,
      ...(card.fingerprint !== null ? { fingerprintPrefix: fingerprintPrefix(card.fingerprint) } : {}),
      ...(card.kek_version !== null ? { keyVersion: card.kek_version } : {}),
    },
    details: { reason },
  });
}

/** One sweep: deletes every card past its window never used in an approved authorization; returns how many. */
export async function deleteUnusedCards(ctx: VaultContext, opts: { batchSize?: number } = {}): Promise<number> {
  const batchSize = opts.batchSize ?? RETENTION_BATCH_SIZE;
  let total = 0;
  for (;;) {
    const { locked, deleted } = await ctx.db.transaction().execute(async (trx) => {
      const now = ctx.clock.now();
      const cutoff = new Date(now.getTime() - RETENTION_WINDOW_MS);
      const cards = await lockUnusedCards(trx, cutoff, batchSize);
      const events = new Map(cards.map((c) => [c.token, deletionEvent(ctx, RETENTION_SWEEPER, c, 'never_used')]));
      return { locked: cards.length, deleted: await tombstoneCards(trx, { reason: 'never_used', at: now, cutoff, events }) };
    });
    for (const token of deleted) ctx.cvv.take(token)?.fill(0);
    total += deleted.length;
    // A short batch was the last; a full one whose cards were all kept on the re-check would find
    // them again, so it ends the sweep too (the next sweep judges them anew).
    if (locked < batchSize || deleted.length === 0) return total;
  }
}

/**
 * DELETE /v1/tokens/{token}: deletes the client's card now. Idempotent: a card already deleted
 * (by an earlier call or by the sweep) answers the same, and the repeat is audited as one. Waits
 * for an authorization of the card in progress; any later one finds the tombstone.
 */
export async function deleteClientCard(ctx: VaultContext, caller: Caller, token: string, clientRef: string): Promise<void> {
  try {
    const deleted = await ctx.db.transaction().execute(async (trx) => {
      const card = await lockClientCard(trx, token, clientRef);
      if (!card) throw new VaultError('token_unknown', 'no such card token for this client');
      if (card.deleted_at !== null) {
        await recordVaultAudit(trx, ctx.clock, caller, {
          action: 'vault.card.deleted', outcome: 'success', targets: { cardToken: token }, details: { reason: 'client_removed', replay: true },
        });
        return false;
      }
      const events = new Map([[token, deletionEvent(ctx, caller, card, 'client_removed')]]);
      return (await tombstoneCards(trx, { reason: 'client_removed', at: ctx.clock.now(), events })).length === 1;
    });
    if (deleted) ctx.cvv.take(token)?.fill(0);
  } catch (err) {
    // An unknown token is not named: it is whatever the caller sent.
    await recordVaultFailure(ctx.db, ctx.clock, caller, { action: 'vault.card.deleted' }, err);
    throw err;
  }
}

/**
 * Runs the sweep now and every `intervalMs` (one run at a time; several vaults share the work, as
 * each skips the cards another has locked). A failed run is logged and tried again next interval.
 * Returns the function that stops it and waits for a run in progress.
 */
export function startRetentionSweep(ctx: VaultContext, intervalMs: number, log: FastifyBaseLogger): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= deleteUnusedCards(ctx)
      .then((n) => { if (n > 0) log.info({ cards: n }, 'retention sweep deleted unused cards'); })
      .catch((err: unknown) => log.warn({ err }, 'retention sweep failed; retried next interval'))
      .finally(() => { running = undefined; });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
