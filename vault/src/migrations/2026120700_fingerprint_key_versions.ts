import { sql, type Kysely } from 'kysely';

// Versioned fingerprint keys (crypto/fingerprint.ts, PCI DSS 3.6.1, 3.7.4). Each card names the key
// version its fingerprint was made with; a card may only name a registered version (foreign key),
// so whether a version may be retired is decided by PostgreSQL for every vault at once, as for the
// KEKs (2026112404). Every fingerprint so far was made with the one key there was: version 1.
// previous_fingerprint is the card's fingerprint under the version before, kept only from
// re-fingerprinting until that version is retired, so the gateway can translate what it stored
// (vault/README.md "Fingerprint key rotation"). A tombstone keeps neither.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table vault.fingerprint_key_versions (
    version int primary key check (version > 0),
    registered_at timestamptz not null
  )`.execute(db);
  await sql`insert into vault.fingerprint_key_versions (version, registered_at) values (1, now())`.execute(db);
  await sql`alter table vault.cards
    add column fingerprint_version int references vault.fingerprint_key_versions (version),
    add column previous_fingerprint text`.execute(db);
  await sql`update vault.cards set fingerprint_version = 1 where fingerprint is not null`.execute(db);
  await sql`alter table vault.cards
    add constraint cards_fingerprint_version check ((fingerprint is null) = (fingerprint_version is null)),
    add constraint cards_previous_fingerprint check (previous_fingerprint is null or fingerprint is not null)`.execute(db);
  // Re-fingerprinting walks the cards of an older version, and a retirement's foreign key check
  // looks them up; the gateway's translation pages through the previous fingerprints.
  await sql`create index cards_fingerprint_version on vault.cards (fingerprint_version) where fingerprint_version is not null`.execute(db);
  await sql`create index cards_previous_fingerprint on vault.cards (previous_fingerprint) where previous_fingerprint is not null`.execute(db);
}

// Going back is only sound with every card on version 1: an older vault would take a newer
// version's fingerprints for version 1's.
export async function down(db: Kysely<any>): Promise<void> {
  await sql`do $$ begin
    if exists (select 1 from vault.cards where fingerprint_version <> 1) then
      raise exception 'cards are fingerprinted under a version other than 1';
    end if;
  end $$`.execute(db);
  await sql`alter table vault.cards drop column previous_fingerprint, drop column fingerprint_version`.execute(db);
  await sql`drop table vault.fingerprint_key_versions`.execute(db);
}
