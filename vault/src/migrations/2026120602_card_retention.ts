import { sql, type Kysely } from 'kysely';

// SP-16 / PCI DSS 3.2.1: card data is kept no longer than it is needed. A deleted card stays as a
// tombstone: its token, client, brand, BIN and last 4 (PCI DSS 3.4.1 allows them in clear) remain,
// so the authorizations that name it keep their foreign key and a refund or dispute of a past
// payment still finds them, and a late call with the token gets `card_deleted`, not a guess. The
// ciphertext, the wrapped data key and the fingerprint go: with the fingerprint key, BIN and last 4
// the fingerprint would give the PAN back in ~10^5 tries, so it is card data too. kek_version goes
// with the data key, so a tombstone never blocks a key retirement.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.cards
    alter column card_ciphertext drop not null,
    alter column dek_wrapped drop not null,
    alter column kek_version drop not null,
    alter column fingerprint drop not null,
    add column deleted_at timestamptz,
    add column deletion_reason text check (deletion_reason in ('client_removed', 'never_used')),
    add constraint cards_live_or_tombstone check (
      (deleted_at is null and deletion_reason is null and card_ciphertext is not null and dek_wrapped is not null
        and kek_version is not null and fingerprint is not null)
      or (deleted_at is not null and deletion_reason is not null and card_ciphertext is null and dek_wrapped is null
        and kek_version is null and fingerprint is null))`.execute(db);
  // The retention sweep walks live cards oldest first.
  await sql`create index cards_live_created on vault.cards (created_at) where deleted_at is null`.execute(db);
}

// Deleted card data cannot come back: with tombstones present the NOT NULLs fail and the down
// migration stops, rather than destroy the authorizations that refunds and disputes rely on.
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index vault.cards_live_created`.execute(db);
  await sql`alter table vault.cards drop constraint cards_live_or_tombstone,
    drop column deletion_reason, drop column deleted_at,
    alter column card_ciphertext set not null, alter column dek_wrapped set not null,
    alter column kek_version set not null, alter column fingerprint set not null`.execute(db);
}
