import { sql, type Kysely } from 'kysely';

// Merchants (design.md, "Merchant API and hosted checkout") and the events their webhooks carry.
// - merchants: created by staff; a merchant collects for one provider and may send its customers
//   back only to the listed origins.
// - merchant_events: what happened to a merchant's sessions, payments, refunds and disputes,
//   written in the transaction of the change itself (so no event is lost or invented), then fanned
//   out to the merchant's webhook endpoints by the webhook dispatcher. `livemode` follows the key
//   the session was created with: test events go only to endpoints registered with a test key.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.merchants (
    id uuid primary key,
    name text not null check (length(name) between 1 and 200),
    provider_id text not null references gateway.providers (id),
    return_origins text[] not null,
    created_at timestamptz not null,
    created_by text not null
  )`.execute(db);
  await sql`create table gateway.merchant_events (
    id uuid primary key,
    merchant_id uuid not null references gateway.merchants (id),
    livemode boolean not null,
    type text not null,
    data jsonb not null,
    created_at timestamptz not null,
    dispatched_at timestamptz
  )`.execute(db);
  await sql`create index merchant_events_undispatched on gateway.merchant_events (id) where dispatched_at is null`.execute(db);
  await sql`create index merchant_events_by_merchant on gateway.merchant_events (merchant_id, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.merchant_events`.execute(db);
  await sql`drop table gateway.merchants`.execute(db);
}
