import { sql, type Kysely } from 'kysely';

// SP-18 … SP-20: disputes are cases staff list, annotate and resolve; refunds are full or
// partial and never exceed what was paid (payments.refunded_amount has the same bound).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.disputes (
    id uuid primary key,
    client_id uuid not null references gateway.clients (id),
    payment_id uuid not null unique references gateway.payments (id),
    reason text not null check (reason in ('unauthorized', 'lost_card', '3ds_bypassed')),
    status text not null check (status in ('open', 'resolved')),
    outcome text check (outcome in ('refunded', 'upheld', 'rejected')),
    three_ds_result text,
    three_ds_enrolled boolean,
    created_at timestamptz not null,
    resolved_at timestamptz,
    resolved_by text,
    check ((status = 'resolved') = (outcome is not null and resolved_at is not null and resolved_by is not null))
  )`.execute(db);
  await sql`create index disputes_status on gateway.disputes (status, created_at)`.execute(db);

  await sql`create table gateway.dispute_notes (
    id uuid primary key,
    dispute_id uuid not null references gateway.disputes (id),
    author text not null,
    text text not null check (length(text) between 1 and 4000),
    created_at timestamptz not null
  )`.execute(db);
  await sql`create index dispute_notes_dispute on gateway.dispute_notes (dispute_id, created_at)`.execute(db);

  await sql`create table gateway.refunds (
    id uuid primary key,
    payment_id uuid not null references gateway.payments (id),
    dispute_id uuid references gateway.disputes (id),
    amount bigint not null check (amount > 0),
    currency char(3) not null,
    status text not null check (status in ('pending', 'succeeded', 'failed')),
    vault_refund_id text,
    requested_by text not null,
    created_at timestamptz not null,
    completed_at timestamptz,
    check ((status = 'succeeded') = (vault_refund_id is not null))
  )`.execute(db);
  await sql`create index refunds_payment on gateway.refunds (payment_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.refunds, gateway.dispute_notes, gateway.disputes`.execute(db);
}
