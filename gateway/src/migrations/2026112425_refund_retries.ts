import { sql, type Kysely } from 'kysely';

// SP-18 … SP-20: a refund the vault could not be reached for stays pending, and the payments sweep
// asks the vault again (payments/refund-retry.ts). `retries` counts those attempts, so a refund
// that keeps failing shows as pending with a growing count; `retried_at` is when the last one was
// claimed, which spaces attempts out and keeps a second sweeper off a refund in flight.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table gateway.refunds
    add column retries integer not null default 0 check (retries >= 0),
    add column retried_at timestamptz`.execute(db);
  await sql`create index refunds_pending on gateway.refunds ((coalesce(retried_at, created_at))) where status = 'pending'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index gateway.refunds_pending`.execute(db);
  await sql`alter table gateway.refunds drop column retried_at, drop column retries`.execute(db);
}
