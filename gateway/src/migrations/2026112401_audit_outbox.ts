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
  // Rows published long ago and still here are re-published by the relay (their job was lost).
  await sql`create index audit_outbox_published on gateway.audit_outbox (published_at) where published_at is not null`.execute(db);
  // The audit-worker deletes each row in the transaction that stores its event; it needs no more.
  await sql.raw(`do $$ begin create role audit_writer nologin;
    exception when duplicate_object or unique_violation then null; end $$`).execute(db);
  await sql`grant usage on schema gateway to audit_writer`.execute(db);
  await sql`grant select, delete on gateway.audit_outbox to audit_writer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.audit_outbox`.execute(db);
}
