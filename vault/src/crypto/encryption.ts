// The vault's one symmetric primitive: AES-256-GCM (NIST SP 800-38D) from Node's OpenSSL.
// Sealed layout: 12-byte IV ‖ ciphertext ‖ 16-byte tag. The associated data binds a ciphertext to
// the row it belongs to, so a ciphertext copied to another row, or altered by one bit, fails.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomBytes } from './random.js';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptionFailed extends Error {
  constructor(what: string) {
    super(`${what} failed authentication (wrong key, wrong row or altered bytes)`);
    this.name = 'DecryptionFailed';
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
}

/** Encrypts under `key`; a fresh random IV unless a known-answer test supplies one. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  checkKey(key);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Decrypts and authenticates; throws DecryptionFailed rather than ever returning unauthenticated bytes. */
export function open(key: Buffer, sealed: Buffer, aad: Buffer, what = 'ciphertext'): Buffer {
  checkKey(key);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionFailed(what);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const head = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
  try {
    const tail = decipher.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch {
    head.fill(0);
    throw new DecryptionFailed(what);
  }
}
