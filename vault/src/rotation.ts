// KEK rotation (PCI DSS 3.6.1.2, 3.7.4): re-wrap every card's data key under the active KEK version,
// online, in small batches. Each batch locks its rows with SKIP LOCKED and commits on its own, so
// tokenize and authorize keep running, several rotators can share the work, and an interrupted run
// resumes where it stopped (the rows still on an old version are simply picked up again). The card
// ciphertext never changes; only the wrapped data key and the version it names.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { rewrapDataKey } from './crypto/envelope.js';
import { KeyError, type KeyProvider } from './crypto/key-provider.js';
import { countByKekVersion, lockRowsToRewrap, updateWrappedKeys, type Rewrapped } from './storage/cards.repository.js';
import { deleteKekVersion, isKekVersionRegistered } from './storage/kek-versions.repository.js';
import type { VaultDatabase } from './storage/database.js';
import { recordVaultAudit, type Caller } from './audit.js';

export interface RewrapOptions {
  batchSize?: number;
  onBatch?: (rewrapped: number) => void;
}

/** Re-wraps until no row is left on an older version; returns how many rows it re-wrapped. */
export async function rewrapAll(
  db: Kysely<VaultDatabase>, keys: KeyProvider, clock: Clock, caller: Caller, opts: RewrapOptions = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const active = keys.activeVersion();
    const done = await db.transaction().execute(async (trx) => {
      const rows = await lockRowsToRewrap(trx, active, opts.batchSize ?? 500);
      const rewrapped: Rewrapped[] = [];
      for (const row of rows) {
        const identity = { token: row.token, clientRef: row.client_ref };
        const next = await rewrapDataKey(keys, identity, { kekVersion: row.kek_version, wrapped: row.dek_wrapped });
        rewrapped.push({ token: row.token, fromVersion: row.kek_version, wrapped: next.wrapped, kekVersion: next.kekVersion });
      }
      await updateWrappedKeys(trx, rewrapped);
      // Audited with the batch it describes: a run stopped part-way leaves every committed batch audited.
      if (rows.length > 0) {
        await recordVaultAudit(trx, clock, caller, {
          action: 'vault.key.rewrap', outcome: 'success', targets: { keyVersion: active }, details: { records: rows.length },
        });
      }
      return rows.length;
    });
    if (done === 0) break;
    total += done;
    opts.onBatch?.(total);
  }
  return total;
}

export type Retirement = { retired: true } | { retired: false; cards: number };

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Unregisters a KEK version, so that no card can name it any more; the caller then removes it from
 * the key file. Race-free with no lock of its own: the cards' foreign key makes the delete wait for
 * every uncommitted write of a card naming the version and fail if one commits, and once the
 * delete commits PostgreSQL refuses every card naming the version, from any vault, whatever its key
 * file says. Counting the cards and then removing the version would miss a card committed between
 * the two. A version never registered is retired at once: no card can name it.
 */
export async function retireKekVersion(db: Kysely<VaultDatabase>, clock: Clock, caller: Caller, version: number): Promise<Retirement> {
  try {
    // Audited in the transaction that retires it: a retirement is never on record without its event.
    const retired = await db.transaction().execute(async (trx) => {
      if (!await deleteKekVersion(trx, version)) return false;
      await recordVaultAudit(trx, clock, caller, { action: 'vault.key.retire', outcome: 'success', targets: { keyVersion: version } });
      return true;
    });
    if (retired) return { retired: true };
  } catch (err) {
    if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
    return { retired: false, cards: (await countByKekVersion(db)).get(version) ?? 0 };
  }
  if (await isKekVersionRegistered(db, version)) {
    throw new KeyError(`KEK version ${version} is the newest registered version and cannot be retired`);
  }
  return { retired: true };
}

/** How many cards each KEK version still wraps. */
export async function recordsPerVersion(db: Kysely<VaultDatabase>): Promise<Map<number, number>> {
  return countByKekVersion(db);
}
