import { sql, type Kysely } from 'kysely';

// SP-21: one row per client action, written once (event_id is the idempotency key).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table audit.events (
    event_id uuid primary key,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null default now(),
    source text not null,
    payload jsonb not null
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table audit.events`.execute(db);
}
