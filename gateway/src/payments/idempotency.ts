// Idempotency-Key for POST /v1/payments and the merchant API's POSTs, the way Stripe does it
// (practices.md "Payments"): the key is scoped to its owner (the client, or the merchant); a digest of the request is stored; the first response is replayed for
// the same request; a different request, or a first request still in flight, gets 409; rows live
// 24 h. Nothing the digest covers is card data (SP-16, PCI DSS 3.3.1, 3.5.1.1): the card stands
// in it as the vault's keyed fingerprint (whose key only the vault holds) with the expiry, or as
// the saved card's id, and the CVV is left out. A keyed hash of the card number or CVV here would
// be reversible by anyone holding this host's key: the other fields sit next to it in the
// database, so some 10^8 guesses a row would recover both.
import { createHash, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
// A first request that crashed before answering leaves its key in flight; after this long the
// same request may take the key over.
export const IN_FLIGHT_TAKEOVER_MS = 60_000;

export type IdempotencyStart =
  | { kind: 'started'; lockedAt: Date }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'conflict'; detail: string };

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What stands for the card in a request digest: an entered card (after tokenize) or a saved one. */
export type CardIdentity = { fingerprint: string; expMonth: number; expYear: number } | { cardId: string };

/**
 * SHA-256 of the request's canonical JSON (key order does not matter) with `card` replaced by
 * `identity`. Unkeyed on purpose: it covers no value the gateway derived from a PAN or CVV, only
 * what the gateway's tables hold in the clear (the fingerprint, the expiry, the card id).
 */
export function requestDigest(body: { card: unknown }, identity: CardIdentity): Buffer {
  const { card: _entered, ...request } = body;
  return bodyDigest({ ...request, card: identity });
}

/** SHA-256 of a request that carries no card data (the merchant API's), in canonical JSON. */
export function bodyDigest(body: unknown): Buffer {
  return createHash('sha256').update(canonical(body)).digest();
}

/** Whose keys: a client's (POST /v1/payments) or a merchant's (the merchant API). Each has its table. */
export type IdempotencyOwner = { clientId: string } | { merchantId: string };

function store(owner: IdempotencyOwner) {
  return 'clientId' in owner
    ? { table: sql.table('gateway.idempotency_keys'), column: sql.ref('client_id'), id: owner.clientId }
    : { table: sql.table('gateway.merchant_idempotency_keys'), column: sql.ref('merchant_id'), id: owner.merchantId };
}

interface StoredKey {
  request_hash: Buffer;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: unknown;
}

/**
 * Claims the key for a request digested as `hash`. `alternates` are digests of the same request
 * that an earlier attempt may have stored: the same card under the vault's other fingerprint key
 * version, during a rotation (a retry then gets the first answer, not a 409).
 */
export async function beginIdempotent(
  db: Kysely<GatewayDatabase>,
  input: { owner: IdempotencyOwner; key: string; hash: Buffer; alternates?: readonly Buffer[]; now: Date },
): Promise<IdempotencyStart> {
  const { key, hash, now } = input;
  const same = [hash, ...(input.alternates ?? [])];
  const { table, column, id } = store(input.owner);
  const expiresAt = new Date(now.getTime() + IDEMPOTENCY_TTL_MS);
  const staleBefore = new Date(now.getTime() - IN_FLIGHT_TAKEOVER_MS);
  for (let attempt = 0; attempt < 2; attempt++) {
    const claimed = await sql<{ locked_at: Date }>`
      insert into ${table} as k (${column}, key, request_hash, state, locked_at, created_at, expires_at)
      values (${id}, ${key}, ${hash}, 'in_flight', ${now}, ${now}, ${expiresAt})
      on conflict (${column}, key) do update
        set request_hash = excluded.request_hash, state = 'in_flight', response_status = null, response_body = null,
            locked_at = excluded.locked_at, created_at = excluded.created_at, expires_at = excluded.expires_at
        where k.expires_at <= ${now}
           or (k.state = 'in_flight' and k.locked_at <= ${staleBefore} and k.request_hash = any(${same}::bytea[]))
      returning locked_at`.execute(db);
    if (claimed.rows[0]) return { kind: 'started', lockedAt: claimed.rows[0].locked_at };
    const row = (await sql<StoredKey>`select request_hash, state, response_status, response_body from ${table}
      where ${column} = ${id} and key = ${key}`.execute(db)).rows[0];
    if (!row) continue; // purged between the two statements: claim again
    if (!same.some((h) => row.request_hash.length === h.length && timingSafeEqual(row.request_hash, h))) {
      return { kind: 'conflict', detail: 'this Idempotency-Key was already used with a different request' };
    }
    if (row.state === 'in_flight') {
      return { kind: 'conflict', detail: 'a request with this Idempotency-Key is still in progress; retry later' };
    }
    return { kind: 'replay', status: row.response_status!, body: row.response_body };
  }
  return { kind: 'conflict', detail: 'this Idempotency-Key is busy; retry later' };
}

/** A key this request holds: what finishIdempotent and releaseIdempotent act on. */
export interface IdempotencySlot {
  owner: IdempotencyOwner;
  key: string;
  lockedAt: Date;
}

/** Stores the response to replay; call it in the transaction that made the change. */
export async function finishIdempotent(db: Kysely<GatewayDatabase>, input: IdempotencySlot & { status: number; body: unknown }): Promise<void> {
  const { table, column, id } = store(input.owner);
  await sql`update ${table} set state = 'done', response_status = ${input.status}, response_body = ${JSON.stringify(input.body)}::jsonb
    where ${column} = ${id} and key = ${input.key} and state = 'in_flight' and locked_at = ${input.lockedAt}`.execute(db);
}

/** Frees a key whose request failed in a way worth retrying (5xx, rate limit). */
export async function releaseIdempotent(db: Kysely<GatewayDatabase>, input: IdempotencySlot): Promise<void> {
  const { table, column, id } = store(input.owner);
  await sql`delete from ${table} where ${column} = ${id} and key = ${input.key} and state = 'in_flight' and locked_at = ${input.lockedAt}`.execute(db);
}

export async function purgeExpiredIdempotencyKeys(db: Kysely<GatewayDatabase>, now: Date): Promise<number> {
  const clients = await db.deleteFrom('gateway.idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  const merchants = await db.deleteFrom('gateway.merchant_idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(clients.numDeletedRows) + Number(merchants.numDeletedRows);
}
