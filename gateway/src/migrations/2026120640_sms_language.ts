import { sql, type Kysely } from 'kysely';

// The SMS language (issue 16): chosen at phone verification from the page's language, copied to
// the client at registration and changeable later (PATCH /v1/me). Kazakh, the bank's default, for
// clients and verifications from before.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table gateway.verifications add column language text not null default 'kk'
    check (language in ('kk', 'ru', 'en'))`.execute(db);
  await sql`alter table gateway.clients add column language text not null default 'kk'
    check (language in ('kk', 'ru', 'en'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table gateway.clients drop column language`.execute(db);
  await sql`alter table gateway.verifications drop column language`.execute(db);
}
