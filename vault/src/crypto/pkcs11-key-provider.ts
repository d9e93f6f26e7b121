// KEKs inside a PKCS#11 token (an HSM; SoftHSM2 in development and tests): PCI DSS 3.6.1.1, 3.7.
// Each KEK version is a token object labelled `<key label>.<version>`, an AES-256 key made or
// imported with CKA_SENSITIVE and without CKA_EXTRACTABLE, so its bytes never leave the token and
// never enter this process: data keys are wrapped and unwrapped by AES-256-GCM inside the token.
// The wrapped layout (12-byte IV ‖ ciphertext ‖ tag) and associated data are the file provider's.
import pkcs11js from 'pkcs11js';
import { ConfigError } from '../../../lib/config.js';
import type { Secret } from '../../../lib/secret.js';
import { KEY_BYTES } from './encryption.js';
import { KeyError, type ManagedKeyProvider, type WrappedKey, wrapContext } from './key-provider.js';
import { randomBytes } from './random.js';

export interface Pkcs11Settings {
  /** The token's PKCS#11 module (VAULT_PKCS11_LIBRARY). */
  library: string;
  /** The token's label (VAULT_PKCS11_TOKEN_LABEL). */
  tokenLabel: string;
  /** The user PIN (VAULT_PKCS11_PIN_FILE). */
  pin: Secret<Buffer>;
  /** Versions are the objects labelled `<keyLabel>.<version>` (VAULT_PKCS11_KEY_LABEL). */
  keyLabel: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const {
  CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_ID, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_VALUE, CKA_VALUE_LEN,
  CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE,
  CKO_SECRET_KEY, CKK_AES, CKM_AES_GCM, CKM_AES_ECB, CKM_AES_KEY_GEN, CK_PARAMS_AES_GCM, CKF_SERIAL_SESSION, CKF_RW_SESSION, CKU_USER,
} = pkcs11js;

/** The PKCS#11 return code in an error (CKR_PIN_INCORRECT …), never anything else it says. */
const ckr = (err: unknown): string => /CKR_[A-Z_]+/.exec((err as Error)?.message ?? '')?.[0] ?? (err as Error)?.name ?? 'error';

// One loaded and initialized module per library for the whole process: C_Initialize is once per
// application, and the token's login state is shared by every session of the application.
const modules = new Map<string, pkcs11js.PKCS11>();

function moduleFor(library: string): pkcs11js.PKCS11 {
  const loaded = modules.get(library);
  if (loaded) return loaded;
  const module = new pkcs11js.PKCS11();
  try {
    module.load(library);
  } catch (err) {
    throw new ConfigError('VAULT_PKCS11_LIBRARY', `cannot load the PKCS#11 module ${library}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    module.C_Initialize();
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw new ConfigError('VAULT_PKCS11_LIBRARY', `C_Initialize failed: ${ckr(err)}`);
  }
  modules.set(library, module);
  return module;
}

const LABEL = /^[A-Za-z0-9_-]{1,48}$/;

/** The attributes of every KEK: a token object the token never lets out, for encryption only. */
function kekTemplate(label: string, version: number): pkcs11js.Template {
  return [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: CKK_AES },
    { type: CKA_TOKEN, value: true },
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_ENCRYPT, value: true },
    { type: CKA_DECRYPT, value: true },
    { type: CKA_WRAP, value: false },
    { type: CKA_UNWRAP, value: false },
    { type: CKA_SIGN, value: false },
    { type: CKA_VERIFY, value: false },
    { type: CKA_DERIVE, value: false },
    { type: CKA_LABEL, value: `${label}.${version}` },
    { type: CKA_ID, value: Buffer.from(String(version)) },
  ];
}

/**
 * A KeyProvider over a PKCS#11 token. It fails closed at construction, naming the setting: a
 * module that does not load, no token with the label, a PIN the token refuses, no key under the
 * label, or a key under it that could leave the token (extractable or not sensitive). It notices
 * a version added or destroyed in the token within `reloadMs`, like the file provider.
 */
export class Pkcs11KeyProvider implements ManagedKeyProvider {
  readonly #p: pkcs11js.PKCS11;
  readonly #session: Buffer;
  readonly #label: string;
  readonly #tokenLabel: string;
  #keys = new Map<number, Buffer>();
  #generation = '';
  #checkedAt = 0;
  #closed = false;
  private readonly reloadMs: number;

  /**
   * `allowEmpty` is for the key commands that put the first version into a fresh token
   * (vault:rotate-key, vault:key-ceremony); the vault itself never starts without a key.
   */
  constructor(settings: Pkcs11Settings, opts: { allowEmpty?: boolean; reloadMs?: number } = {}) {
    this.reloadMs = opts.reloadMs ?? 1_000;
    if (!LABEL.test(settings.keyLabel)) throw new ConfigError('VAULT_PKCS11_KEY_LABEL', `must match ${LABEL.source}`);
    this.#label = settings.keyLabel;
    this.#tokenLabel = settings.tokenLabel;
    this.#p = moduleFor(settings.library);
    const slot = this.#p.C_GetSlotList(true).find((s) => this.#p.C_GetTokenInfo(s).label.trim() === settings.tokenLabel);
    if (!slot) throw new ConfigError('VAULT_PKCS11_TOKEN_LABEL', `no token labelled "${settings.tokenLabel}" in ${settings.library}`);
    this.#session = this.#p.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    try {
      this.#login(settings.pin);
      this.#scan();
      if (this.#keys.size === 0 && !opts.allowEmpty) {
        throw new ConfigError('VAULT_PKCS11_KEY_LABEL', `token "${settings.tokenLabel}" holds no AES key labelled "${this.#label}.<version>"`);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  #login(pin: Secret<Buffer>): void {
    try {
      this.#p.C_Login(this.#session, CKU_USER, pin.expose().toString('utf8').trim());
    } catch (err) {
      const code = ckr(err);
      // The application is already logged in to this token by another session (a second provider in
      // one process, as in tests): sessions share the login, which was made with a PIN the token took.
      if (code === 'CKR_USER_ALREADY_LOGGED_IN') return;
      throw new ConfigError('VAULT_PKCS11_PIN_FILE', `token "${this.#tokenLabel}" refused the login (${code})`);
    }
  }

  /** Reads the token's KEK objects; throws KeyError if one of them could leave the token. */
  #scan(): void {
    const s = this.#session;
    this.#p.C_FindObjectsInit(s, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }]);
    let handles: Buffer[];
    try {
      handles = this.#p.C_FindObjects(s, 10_000);
    } finally {
      this.#p.C_FindObjectsFinal(s);
    }
    const pattern = new RegExp(`^${this.#label}\\.([1-9]\\d{0,8})$`);
    const keys = new Map<number, Buffer>();
    for (const handle of handles) {
      const [label, sensitive, extractable, length] = this.#p.C_GetAttributeValue(s, handle, [
        { type: CKA_LABEL }, { type: CKA_SENSITIVE }, { type: CKA_EXTRACTABLE }, { type: CKA_VALUE_LEN },
      ]).map((a) => a.value as Buffer);
      const match = pattern.exec(label!.toString('utf8'));
      if (!match) continue;
      const version = Number(match[1]);
      if (keys.has(version)) throw new KeyError(`token "${this.#tokenLabel}" holds two keys labelled "${this.#label}.${version}"`);
      if (sensitive![0] !== 1 || extractable![0] !== 0) {
        throw new KeyError(`KEK "${this.#label}.${version}" in token "${this.#tokenLabel}" could leave the token (CKA_SENSITIVE must be true, CKA_EXTRACTABLE false): refused`);
      }
      if ((length!.length === 8 ? Number(length!.readBigUInt64LE(0)) : length!.readUInt32LE(0)) !== KEY_BYTES) throw new KeyError(`KEK "${this.#label}.${version}" is not an AES-256 key`);
      keys.set(version, handle);
    }
    this.#keys = keys;
    this.#generation = [...keys].sort((a, b) => a[0] - b[0]).map(([v, h]) => `${v}:${h.toString('hex')}`).join(',');
  }

  #reloadIfDue(force: boolean): void {
    if (this.#closed) throw new KeyError(`PKCS#11 key provider for token "${this.#tokenLabel}" is closed`);
    const now = Date.now();
    if (!force && now - this.#checkedAt < this.reloadMs) return;
    this.#checkedAt = now;
    this.#scan();
  }

  activeVersion(): number {
    this.#reloadIfDue(false);
    if (this.#keys.size === 0) throw new KeyError(`token "${this.#tokenLabel}" holds no KEK labelled "${this.#label}.<version>" any more`);
    return Math.max(...this.#keys.keys());
  }

  versions(): number[] {
    this.#reloadIfDue(false);
    return [...this.#keys.keys()];
  }

  generation(): string {
    this.#reloadIfDue(false);
    return this.#generation;
  }

  #gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
    return { mechanism: CKM_AES_GCM, parameter: { type: CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_BYTES * 8, tagBits: TAG_BYTES * 8 } as pkcs11js.IParams };
  }

  // Synchronous calls: Init and the operation cannot interleave with another on the one session.
  async wrap(dataKey: Buffer, context: Buffer): Promise<WrappedKey> {
    const kekVersion = this.activeVersion();
    const iv = randomBytes(IV_BYTES);
    this.#p.C_EncryptInit(this.#session, this.#gcm(iv, wrapContext(context, kekVersion)), this.#keys.get(kekVersion)!);
    const body = this.#p.C_Encrypt(this.#session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES));
    return { kekVersion, wrapped: Buffer.concat([iv, body]) };
  }

  async unwrap(key: WrappedKey, context: Buffer): Promise<Buffer> {
    this.#reloadIfDue(!this.#keys.has(key.kekVersion));
    const handle = this.#keys.get(key.kekVersion);
    if (!handle) throw new KeyError(`KEK version ${key.kekVersion} is not in token "${this.#tokenLabel}" (retired or missing)`);
    if (key.wrapped.length < IV_BYTES + TAG_BYTES) throw new KeyError(`data key does not unwrap under KEK version ${key.kekVersion}: malformed`);
    const body = key.wrapped.subarray(IV_BYTES);
    try {
      this.#p.C_DecryptInit(this.#session, this.#gcm(key.wrapped.subarray(0, IV_BYTES), wrapContext(context, key.kekVersion)), handle);
      return this.#p.C_Decrypt(this.#session, body, Buffer.alloc(body.length));
    } catch (err) {
      throw new KeyError(`data key does not unwrap under KEK version ${key.kekVersion}: wrong KEK for this record (${ckr(err)})`);
    }
  }

  /** The classic key check value of a version: AES-ECB of a zero block in the token, first 3 bytes. */
  checkValue(version: number): string {
    this.#reloadIfDue(!this.#keys.has(version));
    const handle = this.#keys.get(version);
    if (!handle) throw new KeyError(`KEK version ${version} is not in token "${this.#tokenLabel}"`);
    this.#p.C_EncryptInit(this.#session, { mechanism: CKM_AES_ECB }, handle);
    return this.#p.C_Encrypt(this.#session, Buffer.alloc(16), Buffer.alloc(16)).subarray(0, 3).toString('hex').toUpperCase();
  }

  #nextVersion(): number {
    this.#reloadIfDue(true);
    return this.#keys.size ? Math.max(...this.#keys.keys()) + 1 : 1;
  }

  /** Generates the next version inside the token (it never exists outside it) and makes it active. */
  addVersion(): number {
    const version = this.#nextVersion();
    this.#p.C_GenerateKey(this.#session, { mechanism: CKM_AES_KEY_GEN }, [...kekTemplate(this.#label, version), { type: CKA_VALUE_LEN, value: KEY_BYTES }]);
    this.#reloadIfDue(true);
    return version;
  }

  /**
   * Puts a key assembled by a key ceremony into the token as the next version. The caller zeroes
   * `key`; the token object is sensitive and not extractable from the moment it exists.
   */
  importVersion(key: Buffer): number {
    if (key.length !== KEY_BYTES) throw new KeyError(`a KEK is ${KEY_BYTES} bytes`);
    const version = this.#nextVersion();
    this.#p.C_CreateObject(this.#session, [...kekTemplate(this.#label, version), { type: CKA_VALUE, value: key }]);
    this.#reloadIfDue(true);
    return version;
  }

  /** Destroys a version's key in the token; the caller has retired it (no card names it). */
  removeVersion(version: number): void {
    this.#reloadIfDue(true);
    if (version === this.activeVersion()) throw new KeyError(`KEK version ${version} is the active version and cannot be retired`);
    const handle = this.#keys.get(version);
    if (!handle) return;
    this.#p.C_DestroyObject(this.#session, handle);
    this.#reloadIfDue(true);
  }

  describe(): string {
    return `token "${this.#tokenLabel}", keys "${this.#label}.<version>"`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#p.C_CloseSession(this.#session);
    } catch {
      // A session the token already dropped (token removed) is closed as far as this process goes.
    }
  }
}
