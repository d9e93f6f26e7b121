import { sql, type Kysely } from 'kysely';

// One row per payment the gateway asked the vault to authorize: payment_ref is unique, so a
// repeated request finds the first result and the card is never authorized twice. Holds no card
// data; the 3-D Secure challenge state lives on the same row.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table vault.authorizations (
    id uuid primary key,
    payment_ref text not null unique,
    token text not null references vault.cards (token),
    client_ref text not null,
    amount_value bigint not null check (amount_value > 0),
    currency text not null,
    merchant text not null,
    processor_ref text,
    outcome text not null check (outcome in ('pending', 'approved', 'declined', 'challenge_required')),
    decline_reason text,
    three_ds_enrolled boolean not null default false,
    three_ds_result text check (three_ds_result in ('frictionless', 'challenged', 'bypassed', 'failed')),
    challenge_ref text unique,
    created_at timestamptz not null,
    updated_at timestamptz not null
  )`.execute(db);
  await sql`create index authorizations_token on vault.authorizations (token)`.execute(db);
  await sql`create table vault.refunds (
    id uuid primary key,
    refund_ref text not null unique,
    authorization_id uuid not null references vault.authorizations (id),
    amount_value bigint not null check (amount_value > 0),
    currency text not null,
    status text not null check (status in ('succeeded')),
    created_at timestamptz not null
  )`.execute(db);
  await sql`create index refunds_authorization on vault.refunds (authorization_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table vault.refunds`.execute(db);
  await sql`drop table vault.authorizations`.execute(db);
}
