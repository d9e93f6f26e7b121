// Canary cards for the SP-16 leak tests, and the search for them in any text or bytes: the card
// number in every shape a careless line of code could give it (as typed, stripped of separators,
// hex, base64 at any byte alignment, a logged Buffer's byte list) and the CVV in the same
// encodings. Canaries are random, so their digit runs are nowhere else; what may be shown of a
// card (first six and last four digits, PCI DSS 3.4.1) is never searched on its own. Digests of
// card data (SHA-256, and HMAC-SHA256 under each key a process holds) are searched for too: with
// the other fields of a request stored next to them, a few 10^8 guesses reverse one.
import { createHash, createHmac, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../lib/paths.js';
import { Secret } from '../../lib/secret.js';

export interface CanaryCard {
  pan: string;
  cvv: string;
}

/** The sandbox's special cards (vault/src/processor/sandbox.ts): a canary must behave like any card. */
const SANDBOX_LAST4 = ['0007', '0015', '0023', '0031', '0049', '0017'];

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * A Luhn-valid card number of `length` digits starting with `prefix`. Its hidden digits (between
 * the first six and the last four) hold at least five different digits, so no run of zeros or
 * repeats makes them look like a timestamp, an amount or a port.
 */
export function canaryPan(prefix: string, length: number): string {
  for (;;) {
    let pan = prefix;
    while (pan.length < length) pan += String(randomInt(10));
    if (luhnValid(pan) && !SANDBOX_LAST4.includes(pan.slice(-4)) && new Set(pan.slice(6, -4)).size >= 5) return pan;
  }
}

/**
 * A CVV of `digits` digits. A 4-digit one (Amex) is searched even standing alone, so it starts
 * with 3 to 9 (never a year) and is none of the ports these tests' servers use. A 3-digit one is
 * also searched as a whole stored value, so it is from 600 up: above HTTP status codes and the
 * sequence numbers and counters a test's few dozen rows reach.
 */
export function canaryCvv(digits: 3 | 4): string {
  const ports = new Set(['5432', '6379', '8443', '8444', '8445', '8446']);
  for (;;) {
    const cvv = String(digits === 4 ? randomInt(3000, 10_000) : randomInt(600, 1000));
    if (!ports.has(cvv)) return cvv;
  }
}

/** The card number as it is typed: unbroken, and grouped (4-4-4-4, Amex 4-6-5) with spaces and with dashes. */
export function panForms(pan: string): { unbroken: string; spaced: string; dashed: string } {
  const groups = pan.length === 15 ? [pan.slice(0, 4), pan.slice(4, 10), pan.slice(10)] : pan.match(/.{1,4}/g)!;
  return { unbroken: pan, spaced: groups.join(' '), dashed: groups.join('-') };
}

/** `123456…7890`: enough to tell canaries apart in a finding, no more than PCI DSS lets be shown. */
export const masked = (pan: string) => `${pan.slice(0, 6)}…${pan.slice(-4)}`;

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer buffer: for each of the
 * three byte alignments, only the characters made of these bytes alone.
 */
function base64Inner(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  return [0, 1, 2].map((shift) => {
    const text = Buffer.concat([Buffer.alloc(shift), bytes]).toString(encoding);
    return text.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + bytes.length) * 8) / 6));
  });
}

/** `digits` as a number of its own: not part of a longer number, a decimal, an id or a date. */
const alone = (digits: string) => new RegExp(`(?<![0-9A-Za-z_.-])${digits}(?![0-9A-Za-z_.-])`);
/** `hex` as a value of its own, also after a `\x` or `0x` prefix. */
const aloneHex = (hex: string) => new RegExp(`(?<![0-9A-Fa-f])${hex}(?![0-9A-Fa-f])`, 'i');
/** `base64` as a value of its own, not a stretch of a longer encoding. */
const aloneBase64 = (base64: string) => new RegExp(`(?<![0-9A-Za-z+/=_-])${base64.replace(/[+/]/g, '\\$&')}(?![0-9A-Za-z+/=_-])`);

interface Needle {
  what: string;
  found(text: string, digits: string): boolean;
}

/** The card number as a client may send it: unbroken, with spaces, with dashes, or any other spacing. */
function panAsTyped(pan: string, label: string): Needle[] {
  const forms = panForms(pan);
  return [
    { what: `${label} with spaces`, found: (text) => text.includes(forms.spaced) },
    { what: `${label} with dashes`, found: (text) => text.includes(forms.dashed) },
    { what: `${label} as digits`, found: (_text, digits) => digits.includes(pan) },
  ];
}

/** Parts and encodings of a card number: what a logged Buffer, bytea or a truncation shows of it. */
function panEncoded(pan: string, label: string): Needle[] {
  const bytes = Buffer.from(pan, 'latin1');
  const literal = (what: string, value: string): Needle => ({ what: `${label} ${what}`, found: (text) => text.includes(value) });
  return [
    // More than the first six or the last four: the hidden digits with either end.
    { what: `${label} first digits beyond the BIN`, found: (_text, digits) => digits.includes(pan.slice(0, -4)) },
    { what: `${label} last digits before the last four`, found: (_text, digits) => digits.includes(pan.slice(6)) },
    { what: `${label} in hex`, found: (text) => text.toLowerCase().includes(bytes.toString('hex')) },
    ...base64Inner(bytes, 'base64').map((value, shift) => literal(`in base64 (alignment ${shift})`, value)),
    ...base64Inner(bytes, 'base64url').map((value, shift) => literal(`in base64url (alignment ${shift})`, value)),
    literal('as a logged Buffer\'s bytes', [...bytes].join(',')),
  ];
}

function cvvNeedles(cvv: string, label: string): Needle[] {
  const bytes = Buffer.from(cvv, 'latin1');
  const pattern = (what: string, re: RegExp): Needle => ({ what: `${label} ${what}`, found: (text) => re.test(text) });
  const base64 = bytes.toString('base64');
  return [
    // Three digits alone turn up everywhere (status codes, milliseconds); next to a CVV's name, or
    // as a whole stored value, they are the CVV.
    pattern('next to its name', new RegExp(`(cvv2?|cvc2?|cid|csc|security.?code)\\W{0,4}${cvv}(?!\\d)`, 'i')),
    pattern('as a whole value', new RegExp(`^["'\\s]*${cvv}["'\\s]*$`)),
    ...(cvv.length >= 4 ? [pattern('standing alone', alone(cvv))] : []),
    pattern('in hex', aloneHex(bytes.toString('hex'))),
    pattern('in base64', aloneBase64(base64)),
    ...(base64.endsWith('=') ? [pattern('in unpadded base64', aloneBase64(base64.replace(/=+$/, '')))] : []),
    pattern('as a logged Buffer\'s bytes', new RegExp(`\\[${[...bytes].join(',')}\\]`)),
  ];
}

export type CardDataSearch = (haystack: string | Buffer) => string[];

/**
 * A search for `cards` (PAN and CVV) and for `pans` (card numbers alone, such as the sandbox's
 * special cards); it returns what it found, by masked name and form. Bytes are read as latin1,
 * one character a byte, so a binary value is searched byte for byte.
 */
export function cardDataSearch(cards: readonly CanaryCard[], pans: readonly string[] = []): CardDataSearch {
  const needles = [
    ...cards.flatMap((card) => {
      const label = `PAN ${masked(card.pan)}`;
      return [...panAsTyped(card.pan, label), ...panEncoded(card.pan, label), ...cvvNeedles(card.cvv, `CVV of ${masked(card.pan)}`)];
    }),
    ...pans.flatMap((pan) => panAsTyped(pan, `PAN ${masked(pan)}`)),
  ];
  return (haystack) => {
    const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
    const digits = text.replace(/(?<=\d)[ -]+(?=\d)/g, '');
    return needles.filter((n) => n.found(text, digits)).map((n) => n.what);
  };
}

/** Every searches' findings, in order. */
export function eitherSearch(...searches: CardDataSearch[]): CardDataSearch {
  return (haystack) => searches.flatMap((search) => search(haystack));
}

/** JSON with every object's keys sorted: how a digest of a JSON request is taken so that key order does not matter. */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sorted(x)]));
    }
    return v;
  };
  return JSON.stringify(sorted(value));
}

export interface DigestKey {
  name: string;
  key: Buffer;
}

/**
 * Every key a process holds, found in its loaded configuration: each Secret (HMAC keys, tokens)
 * and each Buffer (TLS private keys, certificates), named by its place. Walking the configuration
 * rather than listing files finds a key added later without this list being told.
 */
export function keysIn(config: unknown, place = 'config'): DigestKey[] {
  if (config instanceof Secret) {
    const value: unknown = config.expose();
    if (Buffer.isBuffer(value)) return [{ name: place, key: value }];
    return typeof value === 'string' ? [{ name: place, key: Buffer.from(value) }] : keysIn(value, place);
  }
  if (Buffer.isBuffer(config)) return [{ name: place, key: config }];
  if (config && typeof config === 'object' && !(config instanceof URL)) {
    return Object.entries(config).flatMap(([k, v]) => keysIn(v, `${place}.${k}`));
  }
  return [];
}

export interface DigestedValue {
  what: string;
  value: string;
}

/** What a careless digest of a card could cover: its number as typed in each form, its CVV, both together. */
export function cardDigestInputs(card: CanaryCard): DigestedValue[] {
  const label = masked(card.pan);
  const forms = panForms(card.pan);
  return [
    { what: `PAN ${label}`, value: forms.unbroken },
    { what: `PAN ${label} with spaces`, value: forms.spaced },
    { what: `PAN ${label} with dashes`, value: forms.dashed },
    { what: `CVV of ${label}`, value: card.cvv },
    { what: `PAN and CVV of ${label}`, value: `${card.pan}${card.cvv}` },
  ];
}

/** A request body (or part of one) that held card data: as it was sent, and in canonical form. */
export function bodyDigestInputs(what: string, body: unknown): DigestedValue[] {
  const sent = JSON.stringify(body);
  const canonical = canonicalJson(body);
  return sent === canonical ? [{ what, value: sent }] : [{ what, value: sent }, { what: `${what} (canonical JSON)`, value: canonical }];
}

/**
 * A search for SHA-256 (no key) and HMAC-SHA256 (under each of `keys`) digests of `values`, as
 * hex, base64, base64url, raw bytes or a logged Buffer's byte list.
 */
export function digestSearch(values: readonly DigestedValue[], keys: readonly DigestKey[]): CardDataSearch {
  const needles: Array<{ what: string; found(text: string, lower: string): boolean }> = [];
  const add = (what: string, digest: Buffer) => {
    const literal = (form: string, value: string) => needles.push({ what: `${what} ${form}`, found: (text) => text.includes(value) });
    const hex = digest.toString('hex');
    needles.push({ what: `${what} in hex`, found: (_text, lower) => lower.includes(hex) });
    literal('in base64', digest.toString('base64').replace(/=+$/, ''));
    literal('in base64url', digest.toString('base64url'));
    literal('as raw bytes', digest.toString('latin1'));
    literal('as a logged Buffer\'s bytes', [...digest].join(','));
  };
  for (const { what, value } of values) {
    add(`SHA-256 of ${what}`, createHash('sha256').update(value).digest());
    for (const { name, key } of keys) add(`HMAC-SHA256 under ${name} of ${what}`, createHmac('sha256', key).update(value).digest());
  }
  return (haystack) => {
    const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
    const lower = text.toLowerCase();
    return needles.filter((n) => n.found(text, lower)).map((n) => n.what);
  };
}

/** Vault settings that accept Amex and place 37xxxx in Kazakhstan (a copy of the sandbox BIN table plus one range). */
export function amexVaultEnv(t: { teardown(fn: () => unknown): void }): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-bins-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bin-ranges.csv');
  const sandbox = readFileSync(join(repoRoot, 'vault', 'data', 'bin-ranges.csv'), 'utf8').trimEnd();
  writeFileSync(file, `${sandbox}\n370000,379999,amex,KZ,Canary Bank Kazakhstan (Amex)\n`);
  return { VAULT_BIN_TABLE_FILE: file, VAULT_CARD_BRANDS: 'visa,mastercard,amex' };
}
