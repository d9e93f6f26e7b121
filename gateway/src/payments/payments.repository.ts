// SQL for payments (SP-14, SP-15.2, SP-18). Status changes are conditional UPDATEs on the
// expected current status; the database trigger refuses any move the state machine forbids.
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { preparedQuery } from '../../../lib/prepared-query.js';
import { auditOutboxRows } from '../../../lib/audit/outbox.js';
import type { AuditEvent } from '../../../lib/audit/event.js';
import type { PaymentStatus, ThreeDsResult } from './payments.table.js';
import type { ReservedAttempt } from '../identity/otp.repository.js';

export const OPEN_STATUSES = ['requires_confirmation', 'requires_action'] as const;

export interface NewPayment {
  id: string;
  clientId: string;
  providerId: string;
  cardId: string;
  cardSource: 'entered' | 'saved';
  amount: number;
  currency: string;
  params: Record<string, string>;
  now: Date;
  expiresAt: Date;
  /** Set when the payment pays a merchant's checkout session. */
  merchantId?: string | null;
  checkoutSessionId?: string | null;
}

// Every column of the payment row itself; the view adds provider and card facts by join.
const PAYMENT_COLUMNS = [
  'id', 'client_id', 'status', 'amount', 'currency', 'params', 'provider_id', 'card_id', 'card_source', 'authorization_id',
  'decline_reason', 'three_ds_result', 'three_ds_enrolled', 'challenge_ref', 'refunded_amount', 'created_at', 'updated_at', 'expires_at',
  'merchant_id', 'checkout_session_id',
] as const;

const RETURNED_COLUMNS = sql.join(PAYMENT_COLUMNS.map((c) => sql.ref(c)));

/** A payment row as insertClaimedPayment returns it, so the caller answers without reading it back. */
export type InsertedPayment = Pick<Selectable<GatewayDatabase['gateway.payments']>, typeof PAYMENT_COLUMNS[number]>;

/**
 * A payment's whole start in ONE statement, which is its own transaction when run outside one:
 * `claim` (an INSERT … RETURNING that returns no row when the card would be a 4th of the month,
 * SP-15.3) decides, and only if it returned a row are the payment, its code (`code`, given the
 * condition to store it under) and its audit events written. Undefined when the claim refused:
 * nothing is written then. Seven round trips (begin, four inserts, commit, and the claim) become one.
 */
export async function insertClaimedPayment(
  db: Kysely<GatewayDatabase>,
  p: NewPayment,
  claim: RawBuilder<unknown>,
  code: (guard: RawBuilder<unknown>) => RawBuilder<unknown>,
  events: readonly AuditEvent[],
): Promise<InsertedPayment | undefined> {
  const result = await sql<InsertedPayment>`with claim as (${claim}),
    payment as (insert into gateway.payments (id, client_id, provider_id, card_id, card_source, amount, currency, params, status,
                  created_at, updated_at, expires_at, merchant_id, checkout_session_id)
                select ${p.id}::uuid, ${p.clientId}::uuid, ${p.providerId}, ${p.cardId}::uuid, ${p.cardSource}, ${p.amount}::bigint,
                       ${p.currency}, ${JSON.stringify(p.params)}::jsonb, 'requires_confirmation', ${p.now}::timestamptz, ${p.now}::timestamptz,
                       ${p.expiresAt}::timestamptz, ${p.merchantId ?? null}::uuid, ${p.checkoutSessionId ?? null}::text
                where exists (select 1 from claim)
                returning ${RETURNED_COLUMNS}),
    code as (${code(sql`exists (select 1 from payment)`)}),
    audit as (insert into gateway.audit_outbox (event_id, payload, created_at)
              select e.* from (${auditOutboxRows(events)}) e where exists (select 1 from payment))
    select * from payment`.execute(db);
  return result.rows[0];
}

function paymentView(db: Kysely<GatewayDatabase>) {
  return db.selectFrom('gateway.payments as p')
    .innerJoin('gateway.providers as pr', 'pr.id', 'p.provider_id')
    .innerJoin('gateway.cards as c', 'c.id', 'p.card_id')
    .select([
      'p.id', 'p.client_id', 'p.status', 'p.amount', 'p.currency', 'p.params', 'p.provider_id', 'pr.name as provider_name',
      'p.card_id', 'p.card_source', 'c.brand', 'c.last4', 'c.status as card_status', 'p.authorization_id', 'p.decline_reason',
      'p.three_ds_result', 'p.three_ds_enrolled', 'p.challenge_ref', 'p.refunded_amount', 'p.created_at', 'p.updated_at', 'p.expires_at',
      'p.merchant_id', 'p.checkout_session_id',
    ]);
}

export type PaymentRow = NonNullable<Awaited<ReturnType<typeof findPayment>>>;

export async function findPayment(db: Kysely<GatewayDatabase>, id: string, clientId?: string) {
  let q = paymentView(db).where('p.id', '=', id);
  if (clientId !== undefined) q = q.where('p.client_id', '=', clientId);
  return q.executeTakeFirst();
}

const lockedForClient = preparedQuery((db: Kysely<GatewayDatabase>, p: { id: string; clientId: string }) =>
  paymentView(db).select('c.token as card_token').where('p.id', '=', p.id).where('p.client_id', '=', p.clientId).forUpdate('p'));
const locked = preparedQuery((db: Kysely<GatewayDatabase>, p: { id: string }) =>
  paymentView(db).select('c.token as card_token').where('p.id', '=', p.id).forUpdate('p'));

/** The payment row, with its card's vault token, under a row lock (the caller holds a transaction). */
export async function lockPayment(trx: Kysely<GatewayDatabase>, id: string, clientId?: string) {
  return clientId === undefined ? locked.first(trx, { id }) : lockedForClient.first(trx, { id, clientId });
}

/**
 * lockPayment for a client's confirm, counting the attempt on the payment's code in the same
 * statement (`reserve`, e.g. attemptReservationWhere) only if the locked payment still awaits its
 * code: requires_confirmation, not past its window, its card neither blocked nor removed. The
 * guard reads the row as locked, so a confirm that waited for another sees its outcome and counts
 * nothing on a payment that one already claimed. `reserved` is the counted attempt, if any.
 */
export async function lockPaymentReservingAttempt(
  trx: Kysely<GatewayDatabase>, id: string, clientId: string, now: Date, reserve: (guard: RawBuilder<unknown>) => RawBuilder<ReservedAttempt>,
): Promise<{ payment: LockedRow; reserved: ReservedAttempt | undefined } | undefined> {
  const payment = paymentView(trx).select('c.token as card_token').where('p.id', '=', id).where('p.client_id', '=', clientId).forUpdate('p');
  const awaitsCode = sql`exists (select 1 from p where p.status = 'requires_confirmation' and p.expires_at > ${now}::timestamptz
                                                   and p.card_status not in ('blocked', 'removed'))`;
  const result = await sql<LockedRow & { otp_id: string | null; otp_key_id: string; otp_code_hash: Buffer; otp_attempts: number }>`
    with p as (${payment}), r as (${reserve(awaitsCode)})
    select p.*, r.id as otp_id, r.key_id as otp_key_id, r.code_hash as otp_code_hash, r.attempts as otp_attempts
    from p left join r on true`.execute(trx);
  const row = result.rows[0];
  if (!row) return undefined;
  const { otp_id, otp_key_id, otp_code_hash, otp_attempts, ...locked } = row;
  return { payment: locked, reserved: otp_id === null ? undefined : { id: otp_id, key_id: otp_key_id, code_hash: otp_code_hash, attempts: otp_attempts } };
}

type LockedRow = NonNullable<Awaited<ReturnType<typeof lockPayment>>>;

export async function findPaymentByChallengeRef(db: Kysely<GatewayDatabase>, ref: string) {
  return paymentView(db).where('p.challenge_ref', '=', ref).executeTakeFirst();
}

export async function listClientPayments(db: Kysely<GatewayDatabase>, clientId: string, limit: number, before?: string) {
  let q = paymentView(db).where('p.client_id', '=', clientId);
  if (before) q = q.where('p.id', '<', before);
  return q.orderBy('p.id', 'desc').limit(limit).execute();
}

interface MoveFields {
  authorizationId?: string; declineReason?: string | null; challengeRef?: string | null; expiresAt?: Date;
  threeDS?: { result: ThreeDsResult | null; enrolled: boolean };
}

type MoveParams = { id: string; from: PaymentStatus; to: PaymentStatus; now: Date } & Record<string, unknown>;

// One prepared statement per set of columns a move writes (a handful of shapes in all).
const moves = new Map<string, ReturnType<typeof prepareMove>>();

function prepareMove(columns: readonly string[]) {
  return preparedQuery((db: Kysely<GatewayDatabase>, p: MoveParams) => db.updateTable('gateway.payments')
    .set({ status: p.to, updated_at: p.now, ...Object.fromEntries(columns.map((c) => [c, p[c]])) })
    .where('id', '=', p.id).where('status', '=', p.from)
    .returning(PAYMENT_COLUMNS));
}

function moveColumns(fields: MoveFields): Record<string, unknown> {
  return {
    ...(fields.authorizationId !== undefined ? { authorization_id: fields.authorizationId } : {}),
    ...(fields.declineReason !== undefined ? { decline_reason: fields.declineReason } : {}),
    ...(fields.challengeRef !== undefined ? { challenge_ref: fields.challengeRef } : {}),
    ...(fields.expiresAt !== undefined ? { expires_at: fields.expiresAt } : {}),
    ...(fields.threeDS ? { three_ds_result: fields.threeDS.result, three_ds_enrolled: fields.threeDS.enrolled } : {}),
  };
}

/** Moves one payment from `from` to `to` and returns its new row; undefined when it was no longer in `from`. */
export async function moveStatus(
  db: Kysely<GatewayDatabase>,
  id: string,
  from: PaymentStatus,
  to: PaymentStatus,
  now: Date,
  fields: MoveFields = {},
) {
  const set = moveColumns(fields);
  const columns = Object.keys(set);
  const shape = columns.join(',');
  let move = moves.get(shape);
  if (move === undefined) moves.set(shape, move = prepareMove(columns));
  return move.first(db, { ...set, id, from, to, now });
}

export type MovedPayment = NonNullable<Awaited<ReturnType<typeof moveStatus>>>;

/**
 * moveStatus and the audit events of the move in ONE statement, outside any transaction or as
 * the last of one: the events are written if and only if the payment moved. Recording the vault's
 * answer this way costs one round trip where a transaction would cost four. With `guard` (an
 * UPDATE … RETURNING, such as a code's consumption) the move also needs that to return a row.
 */
export async function moveStatusAudited(
  db: Kysely<GatewayDatabase>,
  id: string,
  from: PaymentStatus,
  to: PaymentStatus,
  now: Date,
  fields: MoveFields,
  events: readonly AuditEvent[],
  guard?: RawBuilder<unknown>,
): Promise<MovedPayment | undefined> {
  // Raw SQL rather than kysely's builder: rebuilding its frozen operation tree on every call was
  // the most of kysely's share of the confirm path's profile.
  const set = Object.entries({ status: to, updated_at: now, ...moveColumns(fields) }).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  const move = sql`update gateway.payments set ${sql.join(set)} where id = ${id} and status = ${from}
    ${guard === undefined ? sql`` : sql`and exists (select 1 from guard)`} returning ${RETURNED_COLUMNS}`;
  // A data-modifying WITH runs whether or not the outer query reads it; the audit rows are
  // filtered on the move having happened.
  const result = await sql<MovedPayment>`with ${guard === undefined ? sql`` : sql`guard as (${guard}),`} moved as (${move}),
    audit as (insert into gateway.audit_outbox (event_id, payload, created_at)
              select e.* from (${auditOutboxRows(events)}) e where exists (select 1 from moved))
    select * from moved`.execute(db);
  return result.rows[0];
}

/**
 * Claims up to `limit` payments left `processing` since before `dueBefore` (a vault outage or a
 * crash between asking the vault and recording its answer), with what asking again needs. The
 * claim bumps updated_at, which spaces the attempts and keeps another sweeper off them; rows
 * locked by a confirm or completion in progress are skipped.
 */
export async function claimStuckPayments(db: Kysely<GatewayDatabase>, p: { now: Date; dueBefore: Date; limit: number }) {
  const result = await sql<Pick<PaymentRow, 'id' | 'client_id' | 'card_id' | 'amount' | 'currency' | 'provider_name' | 'challenge_ref' | 'expires_at' | 'checkout_session_id'>
    & { card_token: string }>`
    update gateway.payments p set updated_at = ${p.now}
    from gateway.cards c, gateway.providers pr
    where p.id in (select id from gateway.payments where status = 'processing' and updated_at <= ${p.dueBefore}
                   order by updated_at limit ${p.limit} for update skip locked)
      and p.status = 'processing' and c.id = p.card_id and pr.id = p.provider_id
    returning p.id, p.client_id, p.card_id, p.amount, p.currency, pr.name as provider_name, p.challenge_ref, p.expires_at,
      p.checkout_session_id, c.token as card_token`
    .execute(db);
  return result.rows;
}

/** Expires open payments whose 15-minute window has passed (one, or all); returns them. */
export async function expireDuePayments(db: Kysely<GatewayDatabase>, now: Date, id?: string) {
  const result = await sql<{ id: string; client_id: string; checkout_session_id: string | null }>`
    update gateway.payments set status = 'expired', updated_at = ${now}
    where status in ('requires_confirmation', 'requires_action') and expires_at <= ${now}
      ${id === undefined ? sql`` : sql`and id = ${id}`}
    returning id, client_id, checkout_session_id`.execute(db);
  return result.rows;
}

export async function addRefunded(db: Kysely<GatewayDatabase>, id: string, amount: number, now: Date): Promise<void> {
  await sql`update gateway.payments
            set refunded_amount = refunded_amount + ${amount},
                status = case when refunded_amount + ${amount} = amount then 'refunded' else 'partially_refunded' end,
                updated_at = ${now}
            where id = ${id}`.execute(db);
}
