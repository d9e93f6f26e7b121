import { sql, type Kysely } from 'kysely';

// SP-8 / SP-10: a verification proves the phone for one purpose — registering, or resetting a
// forgotten password — and its token is accepted only by that flow.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table gateway.verifications add column purpose text not null default 'verification'
    check (purpose in ('verification', 'password_reset'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table gateway.verifications drop column purpose`.execute(db);
}
