import { sql, type Kysely } from 'kysely';

// SP-21 / PCI DSS 10.2: the vault's access events wait here until the audit-worker stores them.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table vault.audit_outbox (
    event_id uuid primary key,
    payload jsonb not null,
    created_at timestamptz not null,
    published_at timestamptz
  )`.execute(db);
  await sql`create index audit_outbox_unpublished on vault.audit_outbox (event_id) where published_at is null`.execute(db);
  // Rows published long ago and still here are re-published by the relay (their job was lost).
  await sql`create index audit_outbox_published on vault.audit_outbox (published_at) where published_at is not null`.execute(db);
  // The audit-worker deletes each row in the transaction that stores its event; it needs no more.
  await sql.raw(`do $$ begin create role audit_writer nologin;
    exception when duplicate_object or unique_violation then null; end $$`).execute(db);
  await sql`grant usage on schema vault to audit_writer`.execute(db);
  await sql`grant select, delete on vault.audit_outbox to audit_writer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table vault.audit_outbox`.execute(db);
}
