// Envelope encryption of one card (PCI DSS 3.5, 3.6): a fresh random data key per card encrypts
// PAN and expiry with AES-256-GCM; the data key is wrapped by the active KEK. The associated data
// is the row's identity (token and client reference), so ciphertext moved to another row, or a
// row reassigned to another client, does not decrypt. Every plaintext Buffer is zeroed after use.
import { randomBytes } from './random.js';
import { KEY_BYTES, open, seal } from './encryption.js';
import type { KeyProvider, WrappedKey } from './key-provider.js';

export interface CardPlain {
  pan: Buffer; // ASCII digits
  expMonth: number;
  expYear: number;
}

export interface RowIdentity {
  token: string;
  clientRef: string;
}

export interface SealedCard {
  cardCiphertext: Buffer;
  dekWrapped: Buffer;
  kekVersion: number;
}

const cardContext = (row: RowIdentity) => Buffer.from(`vault.card|${row.token}|${row.clientRef}`);
const dekContext = (row: RowIdentity) => Buffer.from(`vault.dek|${row.token}|${row.clientRef}`);

function encode(card: CardPlain): Buffer {
  const out = Buffer.alloc(card.pan.length + 4);
  out[0] = card.pan.length;
  card.pan.copy(out, 1);
  out[card.pan.length + 1] = card.expMonth;
  out.writeUInt16BE(card.expYear, card.pan.length + 2);
  return out;
}

function decode(plain: Buffer): CardPlain {
  const len = plain[0]!;
  return {
    pan: Buffer.from(plain.subarray(1, 1 + len)),
    expMonth: plain[1 + len]!,
    expYear: plain.readUInt16BE(2 + len),
  };
}

export async function sealCard(keys: KeyProvider, row: RowIdentity, card: CardPlain): Promise<SealedCard> {
  const dek = randomBytes(KEY_BYTES);
  const plain = encode(card);
  try {
    const cardCiphertext = seal(dek, plain, cardContext(row));
    const { kekVersion, wrapped } = await keys.wrap(dek, dekContext(row));
    return { cardCiphertext, dekWrapped: wrapped, kekVersion };
  } finally {
    plain.fill(0);
    dek.fill(0);
  }
}

/** Decrypts a card; the caller zeroes `pan` when done. Throws KeyError / DecryptionFailed, never guesses. */
export async function openCard(keys: KeyProvider, row: RowIdentity, sealed: SealedCard): Promise<CardPlain> {
  const dek = await keys.unwrap({ kekVersion: sealed.kekVersion, wrapped: sealed.dekWrapped }, dekContext(row));
  let plain: Buffer | undefined;
  try {
    plain = open(dek, sealed.cardCiphertext, cardContext(row), 'card data');
    return decode(plain);
  } finally {
    plain?.fill(0);
    dek.fill(0);
  }
}

/** Resolves when `keys` unwraps the card's data key (which it zeroes); throws KeyError otherwise. */
export async function assertDataKeyUnwraps(keys: KeyProvider, row: RowIdentity, current: WrappedKey): Promise<void> {
  (await keys.unwrap(current, dekContext(row))).fill(0);
}

/** Re-wraps a card's data key under the active KEK (rotation); the card ciphertext is unchanged. */
export async function rewrapDataKey(keys: KeyProvider, row: RowIdentity, current: WrappedKey): Promise<WrappedKey> {
  const dek = await keys.unwrap(current, dekContext(row));
  try {
    return await keys.wrap(dek, dekContext(row));
  } finally {
    dek.fill(0);
  }
}
