import { sql, type Kysely } from 'kysely';

// SP-16 / PCI DSS 3.5: a card exists here only as AES-256-GCM ciphertext under a per-card data key,
// itself wrapped by a versioned key-encryption key. Only BIN (6) and last 4 are kept in clear
// (PCI DSS 3.4.1 allows them); the fingerprint is a keyed HMAC, never a plain hash of the PAN.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table vault.cards (
    token text primary key,
    client_ref text not null,
    fingerprint text not null,
    brand text not null,
    bin6 text not null check (bin6 ~ '^[0-9]{6}$'),
    last4 text not null check (last4 ~ '^[0-9]{4}$'),
    issuer_country text not null,
    card_ciphertext bytea not null,
    dek_wrapped bytea not null,
    kek_version integer not null,
    created_at timestamptz not null
  )`.execute(db);
  // Rotation walks the rows still wrapped under an older key version.
  await sql`create index cards_kek_version on vault.cards (kek_version)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table vault.cards`.execute(db);
}
