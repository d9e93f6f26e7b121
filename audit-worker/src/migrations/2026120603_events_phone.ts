import { sql, type Kysely } from 'kysely';

// SP-20: a client's export also holds the events recorded before the client id was known
// (verification codes, lock refusals, resets by phone), found by the client's phone
// (audit-worker/src/export.ts). The index serves that lookup as events_client serves the id.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index events_phone on audit.events ((payload #>> '{targets,phone}'), occurred_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index audit.events_phone`.execute(db);
}
