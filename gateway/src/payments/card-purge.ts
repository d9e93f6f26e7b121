// Deleting the vault's data of cards the gateway no longer uses (SP-16, PCI DSS 3.2.1): a card the
// client removed, or a saved card's earlier token. The transaction that stops using a token marks
// it (cards.repository.ts markTokenForPurge); the vault is asked only after that commit, never
// while a transaction or row lock is held, and the mark is deleted once the vault has confirmed.
// A mark the vault did not answer (down, slow) stays, and the payments sweep asks again: the
// vault's deletion is idempotent, so asking twice is harmless. Cards the gateway never saved for
// good (never approved) need no call: the vault's own retention sweep deletes them.
import type { FastifyBaseLogger } from 'fastify';
import { MINUTE } from '../../../lib/clock.js';
import { recordAudit } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { claimDuePurges, deletePurge, type TokenPurge } from './cards.repository.js';
import { deleteToken, VaultRefusal } from './vault-api.js';

const PURGER = { type: 'system' as const, id: 'card-purge' };

/** Asks the vault to delete one token's card data; true once it is gone there. Never throws. */
export async function purgeToken(ctx: GatewayContext, purge: TokenPurge, log: FastifyBaseLogger): Promise<boolean> {
  try {
    try {
      await deleteToken(ctx.vault, purge.token, purge.clientId);
    } catch (err) {
      // The vault never had it, or another client's: nothing of this card is there to delete.
      if (!(err instanceof VaultRefusal && err.code === 'token_unknown')) throw err;
    }
    await ctx.db.transaction().execute(async (trx) => {
      if (!await deletePurge(trx, purge.token)) return;
      await recordAudit(trx, ctx.clock, undefined, {
        actor: PURGER, action: 'card.vault_purged', outcome: 'success', targets: { clientId: purge.clientId, cardId: purge.cardId },
      });
    });
    return true;
  } catch (err) {
    log.warn({ err, cardId: purge.cardId }, 'vault did not delete a card\'s data; the payments sweep asks again');
    return false;
  }
}

export interface PurgeRetryOptions {
  /** How long a purge waits, after it was requested or last tried, before the sweep tries it. */
  graceMs?: number;
  /** At most this many purges per call, each a vault call in turn. */
  limit?: number;
}

/** The sweep's part: asks the vault again for the purges due; returns how many completed. */
export async function retryCardPurges(
  ctx: GatewayContext, now: Date, log: FastifyBaseLogger, { graceMs = MINUTE, limit = 100 }: PurgeRetryOptions = {},
): Promise<number> {
  const due = await claimDuePurges(ctx.db, { now, dueBefore: new Date(now.getTime() - graceMs), limit });
  let done = 0;
  for (const purge of due) if (await purgeToken(ctx, purge, log)) done++;
  return done;
}
