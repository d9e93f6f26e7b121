import { sql, type Kysely } from 'kysely';

// Hosted checkout sessions (design.md, "Merchant API and hosted checkout"; issue 15 item 2).
// - checkout_sessions: a merchant's request for one fixed amount to its provider. The id is the
//   capability the customer's browser holds (`/checkout/{id}`): `cs_test_`/`cs_live_` and 32 random
//   bytes, so it cannot be guessed. `payment_id` is the session's current payment: a session has at
//   most one payment that is not a failure, claimed by a conditional UPDATE (see sessions.repository.ts).
//   A session only leaves `open`, once: to `complete` when its payment succeeds, or `expired`.
// - payments gain the merchant and session they pay, fixed at insert like the rest of their parties.
// - merchant_idempotency_keys: Idempotency-Key of the merchant API, scoped to the merchant, as
//   gateway.idempotency_keys is to the client.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.checkout_sessions (
    id text primary key check (id ~ '^cs_(test|live)_[A-Za-z0-9_-]{43}$'),
    merchant_id uuid not null references gateway.merchants (id),
    livemode boolean not null,
    provider_id text not null references gateway.providers (id),
    amount bigint not null check (amount > 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    params jsonb not null,
    return_url text not null,
    cancel_url text,
    reference text,
    status text not null check (status in ('open', 'complete', 'expired')),
    payment_id uuid references gateway.payments (id),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    completed_at timestamptz,
    expired_at timestamptz,
    check ((status = 'complete') = (completed_at is not null and payment_id is not null)),
    check ((status = 'expired') = (expired_at is not null))
  )`.execute(db);
  await sql`create index checkout_sessions_by_merchant on gateway.checkout_sessions (merchant_id, created_at)`.execute(db);
  await sql`create index checkout_sessions_open on gateway.checkout_sessions (expires_at) where status = 'open'`.execute(db);
  await sql`create function gateway.checkout_sessions_guard() returns trigger language plpgsql as $$
  begin
    if tg_op = 'DELETE' then
      raise exception 'checkout sessions are never deleted' using errcode = '23514';
    end if;
    if new.id <> old.id or new.merchant_id <> old.merchant_id or new.livemode <> old.livemode or new.provider_id <> old.provider_id
       or new.amount <> old.amount or new.currency <> old.currency or new.params <> old.params
       or new.return_url <> old.return_url or new.cancel_url is distinct from old.cancel_url or new.created_at <> old.created_at then
      raise exception 'a checkout session''s amount, payee and URLs are immutable' using errcode = '23514';
    end if;
    if old.status <> 'open' and new is distinct from old then
      raise exception 'checkout session % is final (%)', old.id, old.status using errcode = '23514';
    end if;
    return new;
  end $$`.execute(db);
  await sql`create trigger checkout_sessions_guard before update or delete on gateway.checkout_sessions
            for each row execute function gateway.checkout_sessions_guard()`.execute(db);

  await sql`alter table gateway.payments
    add column merchant_id uuid references gateway.merchants (id),
    add column checkout_session_id text references gateway.checkout_sessions (id),
    add check ((merchant_id is null) = (checkout_session_id is null))`.execute(db);
  await sql`create index payments_merchant on gateway.payments (merchant_id, id desc) where merchant_id is not null`.execute(db);
  await sql`create index payments_checkout_session on gateway.payments (checkout_session_id) where checkout_session_id is not null`.execute(db);
  await guard(db, true);

  await sql`create table gateway.merchant_idempotency_keys (
    merchant_id uuid not null references gateway.merchants (id),
    key text not null check (length(key) between 1 and 255),
    request_hash bytea not null,
    state text not null check (state in ('in_flight', 'done')),
    response_status integer,
    response_body jsonb,
    locked_at timestamptz not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    primary key (merchant_id, key),
    check ((state = 'done') = (response_status is not null and response_body is not null))
  )`.execute(db);
  await sql`create index merchant_idempotency_keys_expiry on gateway.merchant_idempotency_keys (expires_at)`.execute(db);
}

/** The payments guard of 2026112427 (moves with the payment claims), with the merchant and session among a payment's immutable parties when `merchants`. */
async function guard(db: Kysely<any>, merchants: boolean): Promise<void> {
  const parties = merchants
    ? sql`or new.merchant_id is distinct from old.merchant_id or new.checkout_session_id is distinct from old.checkout_session_id`
    : sql``;
  await sql`create or replace function gateway.payments_guard() returns trigger language plpgsql as $$
  begin
    if tg_op = 'DELETE' then
      raise exception 'payments are never deleted' using errcode = '23514';
    end if;
    if tg_op = 'INSERT' then
      if new.status <> 'requires_confirmation' then
        raise exception 'a payment starts as requires_confirmation, not %', new.status using errcode = '23514';
      end if;
      return new;
    end if;
    if new.id <> old.id or new.client_id <> old.client_id or new.card_id <> old.card_id
       or new.card_source <> old.card_source or new.provider_id <> old.provider_id or new.amount <> old.amount or new.currency <> old.currency
       or new.params <> old.params or new.created_at <> old.created_at ${parties} then
      raise exception 'a payment''s parties and amount are immutable' using errcode = '23514';
    end if;
    if new.refunded_amount < old.refunded_amount then
      raise exception 'a refunded amount never shrinks' using errcode = '23514';
    end if;
    if new.status = old.status then
      if old.status in ('declined', 'failed', 'expired', 'refunded') then
        raise exception 'payment % is final (%)', old.id, old.status using errcode = '23514';
      end if;
      return new;
    end if;
    if (old.status, new.status) in (
      ('requires_confirmation', 'processing'), ('requires_confirmation', 'expired'),
      ('processing', 'succeeded'), ('processing', 'declined'), ('processing', 'failed'), ('processing', 'requires_action'),
      ('requires_action', 'succeeded'), ('requires_action', 'failed'), ('requires_action', 'expired'),
      ('succeeded', 'partially_refunded'), ('succeeded', 'refunded'), ('partially_refunded', 'refunded'),
      ('requires_action', 'processing')
    ) then
      return new;
    end if;
    raise exception 'illegal payment status transition % -> %', old.status, new.status using errcode = '23514';
  end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.merchant_idempotency_keys`.execute(db);
  await guard(db, false);
  await sql`alter table gateway.payments drop column checkout_session_id, drop column merchant_id`.execute(db);
  await sql`drop table gateway.checkout_sessions`.execute(db);
  await sql`drop function gateway.checkout_sessions_guard()`.execute(db);
}
