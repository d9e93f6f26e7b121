import { sql, type Kysely } from 'kysely';

// Merchants' webhook endpoints and what was delivered to them. The signing secret must stay usable
// for HMAC, so it is kept encrypted (AES-256-GCM under a gateway key, webhooks/secret-box.ts), not
// hashed. After a rotation the previous secret keeps signing until previous_secret_expires_at, so a
// merchant can roll their verifier without losing events. Deliveries and attempts are evidence of
// what was sent: an attempt keeps the status, duration and error class, never the response body
// beyond a short excerpt.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.webhook_endpoints (
    id uuid primary key,
    merchant_id uuid not null references gateway.merchants (id),
    livemode boolean not null,
    url text not null,
    events text[] not null,
    secret_sealed bytea not null,
    previous_secret_sealed bytea,
    previous_secret_expires_at timestamptz,
    created_at timestamptz not null,
    disabled_at timestamptz
  )`.execute(db);
  await sql`create index webhook_endpoints_by_merchant on gateway.webhook_endpoints (merchant_id, livemode) where disabled_at is null`.execute(db);
  await sql`create table gateway.webhook_deliveries (
    id uuid primary key,
    endpoint_id uuid not null references gateway.webhook_endpoints (id),
    event_id uuid not null references gateway.merchant_events (id),
    status text not null check (status in ('pending', 'succeeded', 'failed')),
    attempts integer not null default 0,
    created_at timestamptz not null,
    completed_at timestamptz,
    unique (endpoint_id, event_id)
  )`.execute(db);
  await sql`create table gateway.webhook_attempts (
    id uuid primary key,
    delivery_id uuid not null references gateway.webhook_deliveries (id),
    started_at timestamptz not null,
    duration_ms integer not null,
    status_code integer,
    error_class text,
    response_excerpt text check (length(response_excerpt) <= 200)
  )`.execute(db);
  await sql`create index webhook_attempts_by_delivery on gateway.webhook_attempts (delivery_id, started_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.webhook_attempts`.execute(db);
  await sql`drop table gateway.webhook_deliveries`.execute(db);
  await sql`drop table gateway.webhook_endpoints`.execute(db);
}
