// The card fingerprint: HMAC-SHA256 of the PAN digits under a key of its own (never an unkeyed
// hash: PCI DSS 3.5.1.1). Same card → same fingerprint, so the gateway can count distinct cards
// (SP-15.3) without ever seeing a PAN; without the key it reveals nothing.
import { createHmac } from 'node:crypto';
import type { Secret } from '../../../lib/secret.js';

export type Fingerprinter = (panDigits: Buffer) => string;

export function fingerprinter(key: Secret<Buffer>): Fingerprinter {
  return (panDigits) => createHmac('sha256', key.expose()).update(panDigits).digest('hex');
}
