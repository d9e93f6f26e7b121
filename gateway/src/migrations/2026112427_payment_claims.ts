import { sql, type Kysely } from 'kysely';

// SP-18, issue 13: no vault call holds a payment's row lock. A confirm or a 3-D Secure completion
// first claims the payment (moves it to `processing`, which the expiry sweep leaves alone) in a
// short transaction, then asks the vault, then records the answer from `processing`. So a
// challenge's completion now moves requires_action → processing → succeeded | failed; the other
// moves are those of 2026112422. The index serves the sweep that asks the vault again for
// payments left `processing` by a vault outage (payments/payment-retry.ts).
const MOVES = `
      ('requires_confirmation', 'processing'), ('requires_confirmation', 'expired'),
      ('processing', 'succeeded'), ('processing', 'declined'), ('processing', 'failed'), ('processing', 'requires_action'),
      ('requires_action', 'succeeded'), ('requires_action', 'failed'), ('requires_action', 'expired'),
      ('succeeded', 'partially_refunded'), ('succeeded', 'refunded'), ('partially_refunded', 'refunded')`;

async function guard(db: Kysely<any>, moves: string): Promise<void> {
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
    if (old.status, new.status) in (${sql.raw(moves)}
    ) then
      return new;
    end if;
    raise exception 'illegal payment status transition % -> %', old.status, new.status using errcode = '23514';
  end $$`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await guard(db, `${MOVES},\n      ('requires_action', 'processing')`);
  await sql`create index payments_processing on gateway.payments (updated_at) where status = 'processing'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index gateway.payments_processing`.execute(db);
  await guard(db, MOVES);
}
