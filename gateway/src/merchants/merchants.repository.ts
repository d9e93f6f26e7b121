// SQL of merchants and their keys. One statement per function.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

export interface MerchantRow {
  id: string;
  name: string;
  provider_id: string;
  return_origins: string[];
  created_at: Date;
}

export async function insertMerchant(db: Kysely<GatewayDatabase>, m: { id: string; name: string; providerId: string; returnOrigins: string[]; now: Date; by: string }): Promise<MerchantRow> {
  return db.insertInto('gateway.merchants')
    .values({ id: m.id, name: m.name, provider_id: m.providerId, return_origins: m.returnOrigins, created_at: m.now, created_by: m.by })
    .returning(['id', 'name', 'provider_id', 'return_origins', 'created_at'])
    .executeTakeFirstOrThrow();
}

export async function findMerchant(db: Kysely<GatewayDatabase>, id: string): Promise<MerchantRow | undefined> {
  return db.selectFrom('gateway.merchants').select(['id', 'name', 'provider_id', 'return_origins', 'created_at'])
    .where('id', '=', id).executeTakeFirst();
}

export interface KeyRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  last4: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const KEY_COLUMNS = ['id', 'merchant_id', 'livemode', 'last4', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;

export async function insertKey(
  db: Kysely<GatewayDatabase>,
  k: { id: string; merchantId: string; livemode: boolean; hash: Buffer; last4: string; now: Date; by: string; expiresAt: Date | null },
): Promise<KeyRow> {
  return db.insertInto('gateway.merchant_keys').values({
    id: k.id, merchant_id: k.merchantId, livemode: k.livemode, secret_hash: k.hash, last4: k.last4,
    created_at: k.now, created_by: k.by, expires_at: k.expiresAt, revoked_at: null, revoked_by: null, last_used_at: null,
  }).returning(KEY_COLUMNS).executeTakeFirstOrThrow();
}

export async function listKeys(db: Kysely<GatewayDatabase>, merchantId: string): Promise<KeyRow[]> {
  return db.selectFrom('gateway.merchant_keys').select(KEY_COLUMNS)
    .where('merchant_id', '=', merchantId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
}

/** Revokes a live key of this merchant; undefined when there is none (unknown, other merchant's, already revoked). */
export async function revokeKey(db: Kysely<GatewayDatabase>, merchantId: string, keyId: string, now: Date, by: string): Promise<KeyRow | undefined> {
  return db.updateTable('gateway.merchant_keys').set({ revoked_at: now, revoked_by: by })
    .where('id', '=', keyId).where('merchant_id', '=', merchantId).where('revoked_at', 'is', null)
    .returning(KEY_COLUMNS).executeTakeFirst();
}

export interface KeyHolder extends KeyRow {
  name: string;
  provider_id: string;
  return_origins: string[];
}

/** The key with this digest and its merchant, in one round trip. */
export async function findKeyByHash(db: Kysely<GatewayDatabase>, hash: Buffer): Promise<KeyHolder | undefined> {
  return db.selectFrom('gateway.merchant_keys as k').innerJoin('gateway.merchants as m', 'm.id', 'k.merchant_id')
    .select(['k.id', 'k.merchant_id', 'k.livemode', 'k.last4', 'k.created_at', 'k.expires_at', 'k.revoked_at', 'k.last_used_at',
      'm.name', 'm.provider_id', 'm.return_origins'])
    .where('k.secret_hash', '=', hash).executeTakeFirst();
}

/** Records use, at most once a minute per key: the condition makes concurrent requests write once. */
export async function touchKey(db: Kysely<GatewayDatabase>, keyId: string, now: Date): Promise<void> {
  await db.updateTable('gateway.merchant_keys').set({ last_used_at: now })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`${now}::timestamptz - interval '1 minute'`)]))
    .execute();
}
