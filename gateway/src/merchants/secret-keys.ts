// Merchant secret keys: `sk_test_` or `sk_live_` and 32 random bytes in base64url (43 characters).
// Only their SHA-256 is stored: the secret has 256 bits of entropy, so the digest needs no key and
// no slow hash, and a database reader learns nothing usable from it.
import { createHash, randomBytes } from 'node:crypto';

const SECRET = /^sk_(test|live)_([A-Za-z0-9_-]{43})$/;

export interface NewSecretKey {
  secret: string;
  hash: Buffer;
  last4: string;
}

export function newSecretKey(livemode: boolean): NewSecretKey {
  const secret = `sk_${livemode ? 'live' : 'test'}_${randomBytes(32).toString('base64url')}`;
  return { secret, hash: secretKeyHash(secret), last4: secret.slice(-4) };
}

export function secretKeyHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The key's mode when `value` has the shape of a secret key; undefined for anything else. */
export function secretKeyMode(value: string): { livemode: boolean } | undefined {
  const match = SECRET.exec(value);
  return match ? { livemode: match[1] === 'live' } : undefined;
}
