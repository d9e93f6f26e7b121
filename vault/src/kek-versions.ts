// Registered KEK versions (SP-17, PCI DSS 3.6.1.2, 3.7.4). A card may only name a version registered
// in vault.kek_versions (foreign key), so whether a version may be retired is decided by PostgreSQL
// for every vault at once (retireKekVersion in rotation.ts), whatever key file each vault has read.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { KeyError, type KeyProvider, type WrappedKey } from './crypto/key-provider.js';
import { insertKekVersionIfNewest, isKekVersionRegistered } from './storage/kek-versions.repository.js';
import type { VaultDatabase } from './storage/database.js';

/** A KeyProvider that registers each version the first time this process wraps under it. */
export class RegisteredKeyProvider implements KeyProvider {
  readonly #registered = new Map<number, Promise<void>>();

  constructor(private readonly keys: KeyProvider, private readonly db: Kysely<VaultDatabase>, private readonly clock: Clock) {}

  activeVersion(): number {
    return this.keys.activeVersion();
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

  /** Resolves once `version` is registered; a version older than a registered one is refused. */
  register(version: number): Promise<void> {
    let registered = this.#registered.get(version);
    if (!registered) {
      registered = this.#insert(version);
      // Only success is remembered: after a refusal or a database error the next wrap asks again.
      registered.catch(() => this.#registered.delete(version));
      this.#registered.set(version, registered);
    }
    return registered;
  }

  async #insert(version: number): Promise<void> {
    await insertKekVersionIfNewest(this.db, version, this.clock.now());
    // A statement of its own: its snapshot also sees the row of a concurrent registrant.
    if (!(await isKekVersionRegistered(this.db, version))) {
      throw new KeyError(`KEK version ${version} is older than a version the vault has registered: it was retired, or this key file is stale`);
    }
  }
}
