// The card fingerprint: HMAC-SHA256 of the PAN digits under a key of its own (never an unkeyed
// hash: PCI DSS 3.5.1.1). Same card → same fingerprint, so the gateway can count distinct cards
// (SP-15.3) without ever seeing a PAN; without the key it reveals nothing.
//
// The keys are versioned (a key ring, PCI DSS 3.6.1, 3.7.4): the active version fingerprints new
// cards, and during a rotation the ring holds one other version, so the vault can name a card under
// both and the gateway recognises a card it first saw under the other one
// (vault/README.md "Fingerprint key rotation").
import { createHmac } from 'node:crypto';
import type { Secret } from '../../../lib/secret.js';

export interface FingerprintKey {
  version: number;
  key: Secret<Buffer>;
}

/** At most two keys: the active one and, during a rotation, the one before or after it. */
export interface FingerprintKeyRing {
  active: number;
  keys: readonly FingerprintKey[];
}

export interface CardFingerprints {
  /** The active version's fingerprint: what is stored and what the gateway keeps. */
  fingerprint: string;
  version: number;
  /** The same card under the ring's other version (none outside a rotation). */
  other?: { fingerprint: string; version: number };
}

export interface Fingerprinter {
  readonly activeVersion: number;
  /** The active version's fingerprint only (re-fingerprinting needs no other). */
  active(panDigits: Buffer): string;
  all(panDigits: Buffer): CardFingerprints;
}

const hmac = (key: Secret<Buffer>, panDigits: Buffer) => createHmac('sha256', key.expose()).update(panDigits).digest('hex');

export function fingerprinter(ring: FingerprintKeyRing): Fingerprinter {
  const active = ring.keys.find((k) => k.version === ring.active);
  if (!active) throw new Error(`fingerprint key ring has no key for its active version ${ring.active}`);
  const other = ring.keys.find((k) => k.version !== ring.active);
  return {
    activeVersion: active.version,
    active: (pan) => hmac(active.key, pan),
    all(pan) {
      const fingerprints: CardFingerprints = { fingerprint: hmac(active.key, pan), version: active.version };
      if (other) fingerprints.other = { fingerprint: hmac(other.key, pan), version: other.version };
      return fingerprints;
    },
  };
}
