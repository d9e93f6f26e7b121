// Registered KEK versions (SP-17, PCI DSS 3.6.1.2, 3.7.4). A card may only name a version registered
// in vault.kek_versions (foreign key), so whether a version may be retired is decided by PostgreSQL
// for every vault at once (rotation.ts retireKekVersion), whatever key file each vault has read.
// Each version keeps a key check value, the provider's wrap of a fixed block under it: unwrapping
// it proves the provider holds the key the cards were wrapped with. Only wrap and unwrap are used,
// so a KMS or HSM provider, which never hands out key bytes, is checked the same way.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { KEY_BYTES } from './crypto/encryption.js';
import { KeyError, type KeyProvider, type WrappedKey } from './crypto/key-provider.js';
import { assertDataKeyUnwraps } from './crypto/envelope.js';
import { checkValueOf, insertKekVersionIfNewest, listCheckValues, oneCardUnder, storedCheckValue } from './storage/kek-versions.repository.js';
import type { VaultDatabase } from './storage/database.js';

// All zeros, as in the classic key check value; the context keeps it apart from any card's data key.
const checkBlock = () => Buffer.alloc(KEY_BYTES);
const CHECK_CONTEXT = Buffer.from('vault.kek-check');

const mismatch = (version: number, cause: string) => new KeyError(
  `KEK version ${version} fails its key check (${cause}): the key provider does not hold the key this database registered for version ${version}`,
);

async function verify(keys: KeyProvider, version: number, checkValue: Buffer): Promise<void> {
  let block: Buffer;
  try {
    block = await keys.unwrap({ kekVersion: version, wrapped: checkValue }, CHECK_CONTEXT);
  } catch (err) {
    if (err instanceof KeyError) throw mismatch(version, err.message);
    throw err;
  }
  const same = block.equals(checkBlock());
  block.fill(0);
  if (!same) throw mismatch(version, 'it unwraps to another block');
}

/**
 * The boot check: every version both the provider and the database know must unwrap its check
 * value, so a key file holding another key for a version than the one its cards were wrapped with
 * stops the vault, naming the version, instead of failing each request that reaches such a card.
 * A registered version the provider lacks is left to fail closed per request, as before: a host
 * whose key file has not yet got a newer version can still serve the cards it can read.
 */
export async function checkKekVersions(db: Kysely<VaultDatabase>, keys: KeyProvider): Promise<void> {
  const held = new Set(keys.versions());
  for (const { version, checkValue } of await listCheckValues(db)) {
    if (held.has(version)) await verify(keys, version, checkValue);
  }
}

/** A KeyProvider that registers each version, checked, the first time this process wraps under it. */
export class RegisteredKeyProvider implements KeyProvider {
  readonly #registered = new Map<string, Promise<void>>();

  constructor(private readonly keys: KeyProvider, private readonly db: Kysely<VaultDatabase>, private readonly clock: Clock) {}

  activeVersion(): number {
    return this.keys.activeVersion();
  }

  versions(): number[] {
    return this.keys.versions();
  }

  generation(): string {
    return this.keys.generation();
  }

  // Registered before the caller can store anything naming the version.
  async wrap(dataKey: Buffer, context: Buffer): Promise<WrappedKey> {
    const wrapped = await this.keys.wrap(dataKey, context);
    await this.register(wrapped.kekVersion);
    return wrapped;
  }

  unwrap(key: WrappedKey, context: Buffer): Promise<Buffer> {
    return this.keys.unwrap(key, context);
  }

  /**
   * Resolves once `version` (the active one) is registered and its check value matches this
   * provider's key; a version older than a registered one is refused.
   */
  register(version: number): Promise<void> {
    // Remembered per key generation: a key file reloaded with another key for the same version
    // is checked again before anything is wrapped under it.
    const key = `${version}@${this.keys.generation()}`;
    let registered = this.#registered.get(key);
    if (!registered) {
      registered = this.#register(version);
      // Only success is remembered: after a refusal or a database error the next wrap asks again.
      registered.catch(() => this.#registered.delete(key));
      this.#registered.set(key, registered);
    }
    return registered;
  }

  async #register(version: number): Promise<void> {
    const check = await this.keys.wrap(checkBlock(), CHECK_CONTEXT);
    if (check.kekVersion !== version) throw new KeyError(`KEK version ${version} stopped being the active version while it was registered`);
    await insertKekVersionIfNewest(this.db, version, check.wrapped, this.clock.now());
    // Statements of their own: each snapshot also sees the row of a concurrent registrant.
    const registered = await checkValueOf(this.db, version);
    if (!registered) {
      throw new KeyError(`KEK version ${version} is older than a version the vault has registered: it was retired, or this key file is stale`);
    }
    const stored = registered.checkValue ?? await this.#firstCheckValue(version, check.wrapped);
    // Another vault registered it first, with a check value made by its own key for this version.
    if (!stored.equals(check.wrapped)) await verify(this.keys, version, stored);
  }

  /**
   * Stores the first check value of a version registered before check values existed (or the one
   * a concurrent registrant stored first, which the caller verifies). It must come from the key
   * the version's cards were wrapped with, or one host's wrong key file would lock every other
   * vault out: so this key must first unwrap one of those cards.
   */
  async #firstCheckValue(version: number, checkValue: Buffer): Promise<Buffer> {
    const card = await oneCardUnder(this.db, version);
    if (card) {
      await assertDataKeyUnwraps(this.keys, { token: card.token, clientRef: card.client_ref }, { kekVersion: version, wrapped: card.dek_wrapped })
        .catch((err: unknown) => {
          if (err instanceof KeyError) throw mismatch(version, 'it does not unwrap the cards already under it');
          throw err;
        });
    }
    const stored = await storedCheckValue(this.db, version, checkValue);
    if (!stored) throw new KeyError(`KEK version ${version} was retired while it was registered`);
    return stored;
  }
}
