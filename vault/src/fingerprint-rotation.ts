// Fingerprint key rotation (PCI DSS 3.6.1, 3.7.4; vault/README.md "Fingerprint key rotation").
// The vault registers its ring's versions at boot; re-fingerprinting recomputes every stored card's
// fingerprint under the active version from the card itself (the vault decrypts its own cards),
// online, in small batches that lock with SKIP LOCKED and commit on their own, like KEK re-wrapping
// (rotation.ts); retirement unregisters the old version, which PostgreSQL refuses while any card
// still names it (foreign key), so it is race-free against a vault still writing under it.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/config.js';
import { openCard } from './crypto/envelope.js';
import type { Fingerprinter, FingerprintKeyRing } from './crypto/fingerprint.js';
import type { KeyProvider } from './crypto/key-provider.js';
import {
  countByFingerprintVersion, deleteFingerprintVersion, lockCardsToRefingerprint, registerFingerprintVersion, updateFingerprints, type Refingerprinted,
} from './storage/fingerprints.repository.js';
import type { VaultDatabase } from './storage/database.js';
import { recordVaultAudit, type Caller } from './audit.js';

/**
 * The boot check: registers the ring's versions; a ring whose active version was retired stops the
 * vault, naming the setting, before it could fingerprint a card with a key that is gone.
 */
export async function registerFingerprintVersions(db: Kysely<VaultDatabase>, ring: FingerprintKeyRing, clock: Clock): Promise<void> {
  for (const { version } of [...ring.keys].sort((a, b) => a.version - b.version)) {
    const registered = await registerFingerprintVersion(db, version, clock.now());
    if (!registered && version === ring.active) {
      throw new ConfigError('VAULT_FINGERPRINT_KEY_FILE', `its active version ${version} was retired; install the current key file`);
    }
  }
}

/** Re-fingerprints until no live card is left on another version; returns how many it did. */
export async function refingerprintAll(
  db: Kysely<VaultDatabase>, keys: KeyProvider, fingerprint: Fingerprinter, clock: Clock, caller: Caller,
  opts: { batchSize?: number; onBatch?: (total: number) => void } = {},
): Promise<number> {
  const active = fingerprint.activeVersion;
  let total = 0;
  for (;;) {
    const done = await db.transaction().execute(async (trx) => {
      const rows = await lockCardsToRefingerprint(trx, active, opts.batchSize ?? 500);
      const next: Refingerprinted[] = [];
      for (const row of rows) {
        const card = await openCard(keys, { token: row.token, clientRef: row.client_ref },
          { cardCiphertext: row.card_ciphertext, dekWrapped: row.dek_wrapped, kekVersion: row.kek_version });
        try {
          next.push({ token: row.token, fromVersion: row.fingerprint_version, fingerprint: fingerprint.active(card.pan), version: active });
        } finally {
          card.pan.fill(0);
        }
      }
      await updateFingerprints(trx, next);
      // Audited with the batch it describes: a run stopped part-way leaves every committed batch audited.
      if (rows.length > 0) {
        await recordVaultAudit(trx, clock, caller, {
          action: 'vault.fingerprint.refingerprint', outcome: 'success', targets: { keyVersion: active }, details: { records: rows.length },
        });
      }
      return rows.length;
    });
    if (done === 0) return total;
    total += done;
    opts.onBatch?.(total);
  }
}

export type FingerprintRetirement = { retired: true } | { retired: false; cards: number } | { retired: false; newest: true };

const FOREIGN_KEY_VIOLATION = '23503';

/** Unregisters `version`, audited in the same transaction; refused while a card names it or if no newer version is registered. */
export async function retireFingerprintVersion(db: Kysely<VaultDatabase>, clock: Clock, caller: Caller, version: number): Promise<FingerprintRetirement> {
  try {
    const retired = await db.transaction().execute(async (trx) => {
      if (!await deleteFingerprintVersion(trx, version)) return false;
      await recordVaultAudit(trx, clock, caller, { action: 'vault.fingerprint.retire', outcome: 'success', targets: { keyVersion: version } });
      return true;
    });
    return retired ? { retired: true } : { retired: false, newest: true };
  } catch (err) {
    if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
    return { retired: false, cards: (await countByFingerprintVersion(db)).get(version) ?? 0 };
  }
}

