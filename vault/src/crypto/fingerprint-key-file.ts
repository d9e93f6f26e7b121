// The fingerprint key file (VAULT_FINGERPRINT_KEY_FILE), read by the vault at boot and rewritten by
// `npm run vault:rotate-fingerprint-key`. Two formats:
//   - the original one: a single base64 key (≥ 32 bytes) on one line, read as version 1, active;
//   - a key ring: {"active": 2, "keys": {"1": "<base64>", "2": "<base64>"}}, one or two keys.
// The rotation command always writes the ring; a file in the first format stays valid until then.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Secret } from '../../../lib/secret.js';
import type { FingerprintKeyRing } from './fingerprint.js';

export const MIN_KEY_BYTES = 32;
const MAX_KEYS = 2;

export class FingerprintKeyFileError extends Error {}

function decodeKey(base64: unknown, label: string): Buffer {
  if (typeof base64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new FingerprintKeyFileError(`${label} must be base64`);
  }
  const key = Buffer.from(base64, 'base64');
  if (key.length < MIN_KEY_BYTES) {
    key.fill(0);
    throw new FingerprintKeyFileError(`${label} must hold at least ${MIN_KEY_BYTES} random bytes, base64`);
  }
  return key;
}

function parseRing(json: unknown): FingerprintKeyRing {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new FingerprintKeyFileError('must be a base64 key or a key ring {"active", "keys"}');
  const { active, keys } = json as { active?: unknown; keys?: unknown };
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) throw new FingerprintKeyFileError('"keys" must map versions to base64 keys');
  const entries = Object.entries(keys);
  if (entries.length < 1 || entries.length > MAX_KEYS) {
    throw new FingerprintKeyFileError(`must hold ${MAX_KEYS} keys at most (the active one and, during a rotation, one other), got ${entries.length}`);
  }
  const ring = entries.map(([version, key]) => {
    if (!/^[1-9][0-9]{0,8}$/.test(version)) throw new FingerprintKeyFileError(`key version "${version}" must be a positive integer`);
    return { version: Number(version), key: new Secret(decodeKey(key, `key version ${version}`)) };
  });
  if (typeof active !== 'number' || !ring.some((k) => k.version === active)) {
    throw new FingerprintKeyFileError('"active" must name one of the versions in "keys"');
  }
  return { active, keys: ring };
}

/** Parses the file's text; throws FingerprintKeyFileError saying what is wrong (never echoing key bytes). */
export function parseFingerprintKeyFile(text: string): FingerprintKeyRing {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return { active: 1, keys: [{ version: 1, key: new Secret(decodeKey(trimmed, 'the key')) }] };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    throw new FingerprintKeyFileError('is neither a base64 key nor a JSON key ring');
  }
  return parseRing(json);
}

export function readFingerprintKeyFile(path: string): FingerprintKeyRing {
  const raw = readFileSync(path);
  try {
    return parseFingerprintKeyFile(raw.toString('utf8'));
  } finally {
    raw.fill(0);
  }
}

/** Writes the ring atomically (rename), owner-only. */
export function writeFingerprintKeyFile(path: string, ring: FingerprintKeyRing): void {
  const keys = Object.fromEntries(ring.keys.map((k) => [String(k.version), k.key.expose().toString('base64')]));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ active: ring.active, keys })}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The ring with a new random key as the next version, not yet active (rotation step 1). */
export function withNewVersion(ring: FingerprintKeyRing): FingerprintKeyRing {
  if (ring.keys.length >= MAX_KEYS) throw new FingerprintKeyFileError('a rotation is already under way: retire the older version first');
  const version = Math.max(...ring.keys.map((k) => k.version)) + 1;
  return { active: ring.active, keys: [...ring.keys, { version, key: new Secret(randomBytes(MIN_KEY_BYTES)) }] };
}

/** The ring with its newest version active (rotation step 2). */
export function withNewestActive(ring: FingerprintKeyRing): FingerprintKeyRing {
  return { active: Math.max(...ring.keys.map((k) => k.version)), keys: ring.keys };
}

/** The ring without `version`, which must not be the active one (rotation step 4). */
export function withoutVersion(ring: FingerprintKeyRing, version: number): FingerprintKeyRing {
  if (version === ring.active) throw new FingerprintKeyFileError(`version ${version} is the active version and cannot be retired`);
  const kept = ring.keys.filter((k) => k.version !== version);
  if (kept.length === ring.keys.length) throw new FingerprintKeyFileError(`the key file holds no version ${version}`);
  return { active: ring.active, keys: kept };
}
