// Key-encryption keys (KEKs) wrap each card's data key. `KeyProvider` is the seam where a KMS or
// HSM replaces the development key file: the vault only ever asks it to wrap or unwrap a data key,
// never for key material. Records name the KEK version that wrapped them (PCI DSS 3.6, 3.7).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createCipheriv, randomBytes } from 'node:crypto';
import { DecryptionFailed, KEY_BYTES, open, seal } from './encryption.js';

export interface WrappedKey {
  kekVersion: number;
  wrapped: Buffer;
}

export interface KeyProvider {
  /** The version new data keys are wrapped under. */
  activeVersion(): number;
  /** Every version it can unwrap under. */
  versions(): number[];
  /**
   * Changes whenever the key behind a version may have changed (a reloaded key file), so that a
   * check made against the previous keys is made again; a KMS, whose versions never change, may
   * return a constant.
   */
  generation(): string;
  wrap(dataKey: Buffer, context: Buffer): Promise<WrappedKey>;
  unwrap(key: WrappedKey, context: Buffer): Promise<Buffer>;
}

/**
 * A KeyProvider that can also manage its versions (rotation, retirement, a key ceremony's import)
 * and show each version's key check value; `npm run vault:rotate-key` and `vault:key-ceremony`
 * use it, whichever provider the vault is configured with.
 */
export interface ManagedKeyProvider extends KeyProvider {
  /** Makes a fresh KEK the next, active version; returns its version. */
  addVersion(): number;
  /** Stores `key` (which the caller zeroes) as the next, active version; returns its version. */
  importVersion(key: Buffer): number;
  /** Removes a retired version's key; refuses the active one. */
  removeVersion(version: number): void;
  /** The version's key check value: AES of a zero block under it, first 3 bytes in hex. */
  checkValue(version: number): string;
  /** Where the keys are, for operators' messages (never key material). */
  describe(): string;
  close(): void;
}

/** The classic AES key check value of a key in this process (a ceremony's components, the file provider). */
export function keyCheckValue(key: Buffer): string {
  const cipher = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  cipher.setAutoPadding(false);
  return cipher.update(Buffer.alloc(16)).subarray(0, 3).toString('hex').toUpperCase();
}

/** A KEK problem: the vault refuses to go on rather than guess (fail closed). */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

export interface KekFile {
  active: number;
  keys: Record<string, string>;
}

// A file system error names the path and the cause (ENOENT, EACCES), never the file's content.
const unreadable = (path: string, err: unknown) => new KeyError(`KEK file ${path} cannot be read: ${(err as Error).message}`);

/** Reads and checks a KEK file: `{"active": N, "keys": {"N": "<base64 of 32 bytes>", …}}`. */
export function readKekFile(path: string): { active: number; keys: Map<number, Buffer> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  let parsed: KekFile;
  try {
    parsed = JSON.parse(text) as KekFile;
  } catch {
    // V8's message quotes the text around the fault, which here is key material.
    throw new KeyError(`KEK file ${path} is not valid JSON`);
  }
  const keys = new Map<number, Buffer>();
  for (const [version, b64] of Object.entries(parsed?.keys ?? {})) {
    const key = Buffer.from(String(b64), 'base64');
    if (!/^[1-9]\d*$/.test(version) || key.length !== KEY_BYTES) {
      throw new KeyError(`KEK file ${path}: version "${version}" must be a positive integer naming a base64 ${KEY_BYTES}-byte key`);
    }
    keys.set(Number(version), key);
  }
  if (!Number.isInteger(parsed?.active) || !keys.has(parsed.active)) {
    throw new KeyError(`KEK file ${path}: the active version ${String(parsed?.active)} has no key`);
  }
  return { active: parsed.active, keys };
}

/** Writes a KEK file atomically (rename), owner-only. */
export function writeKekFile(path: string, active: number, keys: Map<number, Buffer>): void {
  const content: KekFile = { active, keys: Object.fromEntries([...keys].map(([v, k]) => [String(v), k.toString('base64')])) };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(content, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Adds a fresh KEK version to the file and makes it the active one; returns the new version. */
export function addKekVersion(path: string): number {
  const { keys } = readKekFile(path);
  const version = Math.max(...keys.keys()) + 1;
  keys.set(version, randomBytes(KEY_BYTES));
  writeKekFile(path, version, keys);
  return version;
}

// Writers replace the file by rename, so a new inode marks a change even within one mtime tick.
function fileVersion(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}

export const wrapContext = (context: Buffer, version: number) => Buffer.concat([context, Buffer.from(`|kek:${version}`)]);

/**
 * Development KeyProvider over a KEK file. It notices a changed file (a rotation added a version)
 * within `reloadMs`, so running vaults wrap under the new version and can unwrap re-wrapped rows.
 */
export class FileKeyProvider implements ManagedKeyProvider {
  #active: number;
  #keys: Map<number, Buffer>;
  #version: string;
  #checkedAt = Date.now();

  constructor(readonly path: string, private readonly reloadMs = 1_000) {
    const { active, keys } = readKekFile(path);
    this.#active = active;
    this.#keys = keys;
    this.#version = fileVersion(path);
  }

  #reloadIfChanged(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#checkedAt < this.reloadMs) return;
    this.#checkedAt = now;
    const version = fileVersion(this.path);
    if (version === this.#version) return;
    const { active, keys } = readKekFile(this.path);
    this.#active = active;
    this.#keys = keys;
    this.#version = version;
  }

  activeVersion(): number {
    this.#reloadIfChanged(false);
    return this.#active;
  }

  versions(): number[] {
    this.#reloadIfChanged(false);
    return [...this.#keys.keys()];
  }

  generation(): string {
    this.#reloadIfChanged(false);
    return this.#version;
  }

  async wrap(dataKey: Buffer, context: Buffer): Promise<WrappedKey> {
    const kekVersion = this.activeVersion();
    const kek = this.#keys.get(kekVersion)!;
    return { kekVersion, wrapped: seal(kek, dataKey, wrapContext(context, kekVersion)) };
  }

  async unwrap(key: WrappedKey, context: Buffer): Promise<Buffer> {
    this.#reloadIfChanged(!this.#keys.has(key.kekVersion));
    const kek = this.#keys.get(key.kekVersion);
    if (!kek) throw new KeyError(`KEK version ${key.kekVersion} is not loaded (retired or missing from ${this.path})`);
    try {
      return open(kek, key.wrapped, wrapContext(context, key.kekVersion), 'data key');
    } catch (err) {
      if (err instanceof DecryptionFailed) {
        throw new KeyError(`data key does not unwrap under KEK version ${key.kekVersion}: wrong KEK for this record`);
      }
      throw err;
    }
  }

  addVersion(): number {
    const version = addKekVersion(this.path);
    this.#reloadIfChanged(true);
    return version;
  }

  importVersion(key: Buffer): number {
    if (key.length !== KEY_BYTES) throw new KeyError(`a KEK is ${KEY_BYTES} bytes`);
    const { keys } = readKekFile(this.path);
    const version = Math.max(...keys.keys()) + 1;
    keys.set(version, Buffer.from(key));
    writeKekFile(this.path, version, keys);
    for (const k of keys.values()) k.fill(0);
    this.#reloadIfChanged(true);
    return version;
  }

  removeVersion(version: number): void {
    removeKekVersion(this.path, version);
    this.#reloadIfChanged(true);
  }

  checkValue(version: number): string {
    this.#reloadIfChanged(!this.#keys.has(version));
    const kek = this.#keys.get(version);
    if (!kek) throw new KeyError(`KEK version ${version} is not in ${this.path}`);
    return keyCheckValue(kek);
  }

  describe(): string {
    return `key file ${this.path}`;
  }

  close(): void {}
}

/**
 * Removes a KEK version from the file; the caller has retired it (no record names it). A file
 * that no longer holds it is left as it is, so a retirement interrupted after the database step
 * can simply be run again.
 */
export function removeKekVersion(path: string, version: number): void {
  const { active, keys } = readKekFile(path);
  if (version === active) throw new KeyError(`KEK version ${version} is the active version and cannot be retired`);
  if (!keys.has(version)) return;
  keys.get(version)!.fill(0);
  keys.delete(version);
  writeKekFile(path, active, keys);
}
