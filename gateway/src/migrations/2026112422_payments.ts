import { sql, type Kysely } from 'kysely';

// SP-14, SP-15.2, SP-18: payments. Money is bigint minor units. The status machine is enforced
// by a trigger, so no code path (or hand-written SQL) can make an illegal move:
//   requires_confirmation → processing | expired
//   processing            → succeeded | declined | failed | requires_action
//   requires_action       → succeeded | failed | expired
//   succeeded             → partially_refunded | refunded
//   partially_refunded    → partially_refunded | refunded
// A payment is born requires_confirmation; who, what and how much never change; refunds only
// grow; final statuses never change; rows are never deleted.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.payments (
    id uuid primary key,
    client_id uuid not null references gateway.clients (id),
    provider_id text not null references gateway.providers (id),
    card_id uuid not null references gateway.cards (id),
    card_source text not null check (card_source in ('entered', 'saved')),
    amount bigint not null check (amount > 0),
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    params jsonb not null,
    status text not null check (status in ('requires_confirmation', 'processing', 'requires_action', 'succeeded',
      'declined', 'failed', 'expired', 'partially_refunded', 'refunded')),
    authorization_id text,
    decline_reason text,
    three_ds_result text check (three_ds_result in ('frictionless', 'challenged', 'bypassed', 'failed')),
    three_ds_enrolled boolean,
    challenge_ref text unique,
    refunded_amount bigint not null default 0,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    expires_at timestamptz not null,
    check (refunded_amount >= 0 and refunded_amount <= amount),
    check ((status = 'refunded') = (refunded_amount = amount)),
    check (status <> 'partially_refunded' or refunded_amount between 1 and amount - 1),
    check (status in ('refunded', 'partially_refunded') or refunded_amount = 0),
    check (status not in ('succeeded', 'partially_refunded', 'refunded') or authorization_id is not null)
  )`.execute(db);
  await sql`create index payments_client on gateway.payments (client_id, id desc)`.execute(db);
  await sql`create index payments_open on gateway.payments (expires_at)
            where status in ('requires_confirmation', 'requires_action')`.execute(db);

  await sql`create function gateway.payments_guard() returns trigger language plpgsql as $$
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
       or new.params <> old.params or new.created_at <> old.created_at then
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
      ('succeeded', 'partially_refunded'), ('succeeded', 'refunded'), ('partially_refunded', 'refunded')
    ) then
      return new;
    end if;
    raise exception 'illegal payment status transition % -> %', old.status, new.status using errcode = '23514';
  end $$`.execute(db);
  await sql`create trigger payments_guard before insert or update or delete on gateway.payments
            for each row execute function gateway.payments_guard()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.payments`.execute(db);
  await sql`drop function gateway.payments_guard()`.execute(db);
}
