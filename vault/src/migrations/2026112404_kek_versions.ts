import { sql, type Kysely } from 'kysely';

// SP-17 / PCI DSS 3.6.1.2, 3.7.4: the KEK versions a card may name. Every card references its
// version, so retiring one (deleting its row) is refused by PostgreSQL itself while any card, even
// one a concurrent transaction is still writing, names it; and once retired, no card can name it.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table vault.kek_versions (
    version integer primary key check (version > 0),
    registered_at timestamptz not null
  )`.execute(db);
  await sql`insert into vault.kek_versions (version, registered_at)
    select distinct kek_version, now() from vault.cards`.execute(db);
  await sql`alter table vault.cards add constraint cards_kek_version_registered
    foreign key (kek_version) references vault.kek_versions (version) on delete restrict`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.cards drop constraint cards_kek_version_registered`.execute(db);
  await sql`drop table vault.kek_versions`.execute(db);
}
