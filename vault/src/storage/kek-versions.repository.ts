// Single-query primitives over vault.kek_versions, the KEK versions a card may name.
import { sql, type Kysely } from 'kysely';
import type { VaultDatabase } from './database.js';

/**
 * Registers `version` with its key check value unless a newer version is registered. Only an older
 * version than a registered one is ever retired (deleteKekVersion), so a retired version never
 * comes back, not even from a vault whose key file still makes it the active one.
 */
export async function insertKekVersionIfNewest(db: Kysely<VaultDatabase>, version: number, checkValue: Buffer, at: Date): Promise<void> {
  await sql`insert into vault.kek_versions (version, check_value, registered_at)
    select ${version}::int, ${checkValue}::bytea, ${at}::timestamptz
    where not exists (select 1 from vault.kek_versions where version > ${version})
    on conflict (version) do nothing`.execute(db);
}

/**
 * The check value stored for `version`, after storing `checkValue` if the version was registered
 * without one; undefined if the version is not registered.
 */
export async function storedCheckValue(db: Kysely<VaultDatabase>, version: number, checkValue: Buffer): Promise<Buffer | undefined> {
  const row = await db.updateTable('vault.kek_versions')
    .set({ check_value: sql<Buffer>`coalesce(check_value, ${checkValue}::bytea)` })
    .where('version', '=', version)
    .returning('check_value')
    .executeTakeFirst();
  return row?.check_value ?? undefined;
}

/** Whether `version` is registered, and its check value (null when registered before check values). */
export async function checkValueOf(db: Kysely<VaultDatabase>, version: number): Promise<{ checkValue: Buffer | null } | undefined> {
  const row = await db.selectFrom('vault.kek_versions').select('check_value').where('version', '=', version).executeTakeFirst();
  return row && { checkValue: row.check_value };
}

/** Any one card whose data key is wrapped under `version`. */
export async function oneCardUnder(db: Kysely<VaultDatabase>, version: number) {
  return db.selectFrom('vault.cards').select(['token', 'client_ref', 'dek_wrapped']).where('kek_version', '=', version).limit(1)
    .$narrowType<{ dek_wrapped: Buffer }>() // a deleted card names no version
    .executeTakeFirst();
}

export async function listCheckValues(db: Kysely<VaultDatabase>): Promise<{ version: number; checkValue: Buffer }[]> {
  const rows = await db.selectFrom('vault.kek_versions').select(['version', 'check_value']).where('check_value', 'is not', null).orderBy('version').execute();
  return rows.map((r) => ({ version: r.version, checkValue: r.check_value! }));
}

export async function isKekVersionRegistered(db: Kysely<VaultDatabase>, version: number): Promise<boolean> {
  return (await db.selectFrom('vault.kek_versions').select('version').where('version', '=', version).executeTakeFirst()) !== undefined;
}

/**
 * Unregisters `version` if a newer version is registered; returns whether it did. Fails with a
 * foreign key violation (23503) while any card names the version, including a card whose insert
 * was still uncommitted when the delete began (the delete waits for it).
 */
export async function deleteKekVersion(db: Kysely<VaultDatabase>, version: number): Promise<boolean> {
  const result = await db.deleteFrom('vault.kek_versions')
    .where('version', '=', version)
    .where(({ exists, selectFrom }) => exists(selectFrom('vault.kek_versions as newer').select('newer.version').where('newer.version', '>', version)))
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
