import { sql, type Kysely } from 'kysely';

// Idempotency-Key on POST /v1/payments (practices.md "Payments"): scoped to the client, with a
// keyed hash of the request body (the body holds a PAN, so never an unkeyed hash), the first
// response stored for replay, rows kept 24 hours.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.idempotency_keys (
    client_id uuid not null references gateway.clients (id),
    key text not null check (length(key) between 1 and 255),
    request_hash bytea not null,
    state text not null check (state in ('in_flight', 'done')),
    response_status integer,
    response_body jsonb,
    locked_at timestamptz not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    primary key (client_id, key),
    check ((state = 'done') = (response_status is not null and response_body is not null))
  )`.execute(db);
  await sql`create index idempotency_keys_expiry on gateway.idempotency_keys (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.idempotency_keys`.execute(db);
}
