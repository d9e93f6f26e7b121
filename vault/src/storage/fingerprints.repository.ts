// Single-query primitives of fingerprint key rotation (fingerprint-rotation.ts sequences them).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { LiveCard, VaultDatabase } from './database.js';

/**
 * Registers `version` unless a newer version is registered: only a version older than a registered
 * one is ever retired, so a retired version never comes back, not even from a vault whose key file
 * still makes it the active one. Returns whether `version` is registered afterwards.
 */
export async function registerFingerprintVersion(db: Kysely<VaultDatabase>, version: number, at: Date): Promise<boolean> {
  await sql`insert into vault.fingerprint_key_versions (version, registered_at)
    select ${version}::int, ${at}::timestamptz
    where not exists (select 1 from vault.fingerprint_key_versions where version > ${version})
    on conflict (version) do nothing`.execute(db);
  const row = await db.selectFrom('vault.fingerprint_key_versions').select('version').where('version', '=', version).executeTakeFirst();
  return row !== undefined;
}

export type CardToRefingerprint = Pick<LiveCard, 'token' | 'client_ref' | 'fingerprint' | 'fingerprint_version' | 'card_ciphertext' | 'dek_wrapped' | 'kek_version'>;

/** Live cards fingerprinted under another version than `active`, locked; rows another worker holds are skipped. */
export async function lockCardsToRefingerprint(trx: Transaction<VaultDatabase>, active: number, limit: number): Promise<CardToRefingerprint[]> {
  return trx.selectFrom('vault.cards')
    .select(['token', 'client_ref', 'fingerprint', 'fingerprint_version', 'card_ciphertext', 'dek_wrapped', 'kek_version'])
    .where('fingerprint_version', '<>', active)
    .orderBy('token')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    // A tombstone has no fingerprint version, so `<>` never selects one.
    .$narrowType<{ fingerprint: string; fingerprint_version: number; card_ciphertext: Buffer; dek_wrapped: Buffer; kek_version: number }>()
    .execute();
}

export interface Refingerprinted {
  token: string;
  fromVersion: number;
  fingerprint: string;
  version: number;
}

/**
 * One statement for a batch: the new fingerprint becomes the card's, the old one its
 * previous_fingerprint (what the gateway translates from); a row whose version changed meanwhile
 * is left alone.
 */
export async function updateFingerprints(trx: Transaction<VaultDatabase>, rows: readonly Refingerprinted[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`update vault.cards c set previous_fingerprint = c.fingerprint, fingerprint = v.fingerprint, fingerprint_version = v.version
    from (select unnest(${rows.map((r) => r.token)}::text[]) as token,
                 unnest(${rows.map((r) => r.fingerprint)}::text[]) as fingerprint,
                 unnest(${rows.map((r) => r.version)}::int[]) as version,
                 unnest(${rows.map((r) => r.fromVersion)}::int[]) as from_version) v
    where c.token = v.token and c.fingerprint_version = v.from_version`.execute(trx);
}

export async function countByFingerprintVersion(db: Kysely<VaultDatabase>): Promise<Map<number, number>> {
  const rows = await db.selectFrom('vault.cards')
    .select(['fingerprint_version', (eb) => eb.fn.countAll<number>().as('n')])
    .where('fingerprint_version', 'is not', null)
    .groupBy('fingerprint_version')
    .$narrowType<{ fingerprint_version: number }>()
    .execute();
  return new Map(rows.map((r) => [r.fingerprint_version, Number(r.n)]));
}

/**
 * Unregisters `version` if a newer one is registered and drops every previous fingerprint (they
 * are all of the version before the active one); returns whether it unregistered. Fails with a
 * foreign key violation (23503) while any card names the version, including a card whose insert
 * was still uncommitted when the delete began (the delete waits for it).
 */
export async function deleteFingerprintVersion(trx: Transaction<VaultDatabase>, version: number): Promise<boolean> {
  const result = await trx.deleteFrom('vault.fingerprint_key_versions')
    .where('version', '=', version)
    .where(({ exists, selectFrom }) => exists(selectFrom('vault.fingerprint_key_versions as newer').select('newer.version').where('newer.version', '>', version)))
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) return false;
  await trx.updateTable('vault.cards').set({ previous_fingerprint: null }).where('previous_fingerprint', 'is not', null).execute();
  return true;
}

export interface Translation {
  from: string;
  to: string;
}

/** Previous → current fingerprint pairs after `after` (by previous fingerprint), distinct, in order. */
export async function listTranslations(db: Kysely<VaultDatabase>, after: string, limit: number): Promise<Translation[]> {
  const rows = await db.selectFrom('vault.cards')
    .select(['previous_fingerprint as from', 'fingerprint as to'])
    .distinct()
    .where('previous_fingerprint', '>', after)
    .orderBy('previous_fingerprint')
    .limit(limit)
    .$narrowType<{ from: string; to: string }>()
    .execute();
  return rows;
}
