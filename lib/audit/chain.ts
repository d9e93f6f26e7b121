// The audit hash chain and the Merkle trees its signed checkpoints cover (SP-21, PCI DSS 10.3.4).
//   record hash  = SHA-256("pgw-audit-record-v1\n" ‖ previous record hash ‖ RFC 8785 JSON of
//                  {seq, recordedAt, source, event}); the first record chains to 32 zero bytes.
//   checkpoint   = Ed25519 signature over RFC 8785 JSON of {type, fromSeq, count, lastHash,
//                  merkleRoot, at}, where merkleRoot is the RFC 9162 Merkle tree hash over the
//                  record hashes fromSeq..count. A record is proved against a checkpoint by an
//                  audit path of log2(n) hashes, so an investigator's export stays small.
// Only SHA-256, Ed25519 and JSON: verifiable without this code, or any vendor, in ten years.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { AuditEvent } from './event.js';
import type { AuditSource } from './outbox.js';

export const GENESIS_HASH = Buffer.alloc(32);
const RECORD_TAG = Buffer.from('pgw-audit-record-v1\n');

export interface ChainRecord {
  seq: number;
  recordedAt: string; // ISO 8601, UTC, milliseconds
  source: AuditSource;
  event: AuditEvent;
}

export function recordHash(prevHash: Buffer, record: ChainRecord): Buffer {
  return recordHashOfCanonicalEvent(prevHash, { ...record, event: canonicalJson(record.event) });
}

/**
 * recordHash with the event already in RFC 8785 form, so a sequencer can canonicalise events
 * before it takes the chain lock: the record's keys sort as event, recordedAt, seq, source.
 */
export function recordHashOfCanonicalEvent(prevHash: Buffer, record: Omit<ChainRecord, 'event'> & { event: string }): Buffer {
  const content = `{"event":${record.event},"recordedAt":${canonicalJson(record.recordedAt)},"seq":${canonicalJson(record.seq)},"source":${canonicalJson(record.source)}}`;
  return createHash('sha256').update(RECORD_TAG).update(prevHash).update(content, 'utf8').digest();
}

const leafHash = (data: Buffer) => createHash('sha256').update(Buffer.from([0])).update(data).digest();
const nodeHash = (l: Buffer, r: Buffer) => createHash('sha256').update(Buffer.from([1])).update(l).update(r).digest();

/**
 * The RFC 9162 tree built level by level: pairs hash together, an odd last node moves up
 * unchanged (the same tree as the RFC's largest-power-of-two split).
 */
export class MerkleTree {
  readonly levels: Buffer[][];
  constructor(leaves: Buffer[]) {
    if (leaves.length === 0) throw new Error('a Merkle tree needs at least one leaf');
    this.levels = [leaves.map(leafHash)];
    while (this.levels[this.levels.length - 1]!.length > 1) {
      const below = this.levels[this.levels.length - 1]!;
      const up: Buffer[] = [];
      for (let i = 0; i < below.length; i += 2) up.push(i + 1 < below.length ? nodeHash(below[i]!, below[i + 1]!) : below[i]!);
      this.levels.push(up);
    }
  }
  get root(): Buffer {
    return this.levels[this.levels.length - 1]![0]!;
  }
  /** The audit path of leaf `index`, leaf to root. */
  path(index: number): Buffer[] {
    const out: Buffer[] = [];
    let i = index;
    for (let level = 0; level < this.levels.length - 1; level++) {
      const sibling = i ^ 1;
      if (sibling < this.levels[level]!.length) out.push(this.levels[level]![sibling]!);
      i >>= 1;
    }
    return out;
  }
}

/** RFC 9162 §2.1.3.2: does `path` prove `leaf` at `index` in a tree of `size` leaves with `root`? */
export function verifyMerklePath(leaf: Buffer, index: number, size: number, path: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

export interface CheckpointBody {
  type: 'audit-checkpoint-v1';
  fromSeq: number;
  count: number; // = the last seq covered
  lastHash: string; // hex
  merkleRoot: string; // hex
  at: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  keyId: string;
  signature: string; // base64
}

export interface RetentionBody {
  type: 'audit-retention-v1';
  at: string;
  dropped: Array<{ partition: string; from: string; to: string; firstSeq: number | null; lastSeq: number | null; count: number }>;
  anchorSeq: number; // every record up to this seq is gone; the chain resumes after it
  anchorHash: string; // hex hash of record anchorSeq
}

export interface SignedRetention extends RetentionBody {
  keyId: string;
  signature: string;
}

export interface Signer {
  keyId: string;
  sign(body: object): string;
}

/** The key id is the first 16 hex of SHA-256 over the SPKI public key: published, rotatable. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function createSigner(privateKeyPem: Buffer | string): Signer {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be Ed25519');
  const keyId = keyIdOf(createPublicKey(key));
  return { keyId, sign: (body) => sign(null, Buffer.from(canonicalJson(body)), key).toString('base64') };
}

export function loadPublicKey(pem: Buffer | string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the audit public key must be Ed25519');
  return key;
}

/**
 * The audit public keys a verifier trusts, by key id: the current signing key's and every retired
 * one's whose records are still kept (vault/README.md "Audit signing key rotation"). A signature
 * is checked only under the key its key id names, and only if that key is in the set.
 */
export type TrustedKeys = ReadonlyMap<string, KeyObject>;

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----/g;

/** Every PEM public key in `pem` (a file may list several, newest last); at least one, each Ed25519. */
export function loadPublicKeys(pem: Buffer | string): TrustedKeys {
  const blocks = pem.toString().match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('no PEM public key found');
  return new Map(blocks.map((block) => {
    const key = loadPublicKey(block);
    return [keyIdOf(key), key];
  }));
}

const asTrusted = (keys: KeyObject | TrustedKeys): TrustedKeys => (keys instanceof Map ? keys : new Map([[keyIdOf(keys as KeyObject), keys as KeyObject]]));

/** Whether `keyId` names a trusted key. */
export function isTrusted(keyId: string, keys: KeyObject | TrustedKeys): boolean {
  return asTrusted(keys).has(keyId);
}

/**
 * Checks a signed checkpoint, retention record or export header: its key id must name a trusted
 * key and the signature must be that key's. A key id copied from a trusted key onto another key's
 * signature fails the signature check, so no key outside the set can pass for one in it.
 */
export function verifySigned(signed: { keyId: string; signature: string }, keys: KeyObject | TrustedKeys): boolean {
  const { keyId, signature, ...body } = signed;
  const key = asTrusted(keys).get(keyId);
  if (!key) return false;
  return verify(null, Buffer.from(canonicalJson(body)), key, Buffer.from(signature, 'base64'));
}
