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
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table vault.audit_outbox`.execute(db);
}
