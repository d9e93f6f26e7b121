import { sql, type Kysely } from 'kysely';

// SP-21: events wait here, written in the business transaction, until the audit-worker stores them.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.audit_outbox (
    event_id uuid primary key,
    payload jsonb not null,
    created_at timestamptz not null,
    published_at timestamptz
  )`.execute(db);
  await sql`create index audit_outbox_unpublished on gateway.audit_outbox (event_id) where published_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.audit_outbox`.execute(db);
}
