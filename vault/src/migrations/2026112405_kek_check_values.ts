import { sql, type Kysely } from 'kysely';

// SP-17 / PCI DSS 3.6: a key check value per KEK version, the key provider's wrap of a fixed block
// under that version, written when the version is registered; the vault verifies each one at boot.
// Null for a version registered before this column: its value is written when it is next registered
// as the active version (only the active version can wrap).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.kek_versions add column check_value bytea`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.kek_versions drop column check_value`.execute(db);
}
