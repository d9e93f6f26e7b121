// Single-query primitives over vault.authorizations and vault.refunds.
import { sql, type Kysely, type QueryResult, type RawBuilder, type Transaction } from 'kysely';
import { assertAuditEvent, type AuditEvent } from '../../../lib/audit/event.js';
import type { AuthorizationsTable, CardsTable, RefundsTable, VaultDatabase } from './database.js';

export type AuthorizationRow = AuthorizationsTable;

/**
 * Runs one statement inside the caller's transaction: `(q) => q.execute(trx)`, or a step of a
 * pipelinedTransaction (lib/db.ts) that carries BEGIN or COMMIT in the same round trip.
 */
export type RunStatement = <R>(query: RawBuilder<R>) => Promise<QueryResult<R>>;

/**
 * The recorded authorization of a repeated `paymentRef`, and the repeat's audit event, in one
 * statement: a replay costs the round trips it did before it was audited.
 */
export async function replayByPaymentRef(run: RunStatement, paymentRef: string, event: AuditEvent): Promise<AuthorizationRow> {
  assertAuditEvent(event);
  const result = await run(sql<AuthorizationRow>`
    with audited as (
      insert into vault.audit_outbox (event_id, payload, created_at)
      values (${event.id}, ${JSON.stringify(event)}::jsonb, ${event.occurredAt}::timestamptz)
    )
    select * from vault.authorizations where payment_ref = ${paymentRef}`);
  // The claim that lost to this reference has committed, so its row is there.
  const row = result.rows[0];
  if (!row) throw new Error(`no authorization holds paymentRef ${paymentRef}`);
  return row;
}

export interface Claim {
  id: string;
  token: string;
  clientRef: string;
  paymentRef: string;
  amount: { value: number; currency: string };
  merchant: string;
  at: Date;
}

/**
 * Finds the card (its token AND its client: another client's token is as unknown as a missing
 * one) and claims `payment_ref` for it, in one statement. A concurrent claim of the same reference
 * waits on the unique index until the first transaction ends, then gets `claimed: false`: the
 * card is never authorized twice. Undefined when there is no such card. The card is read under a
 * key-share lock (the one the claim's foreign key takes anyway), held until the authorization
 * commits: a deletion (retention.ts) waits for it or is waited for, and then this read returns
 * the tombstone, never the card data of a snapshot taken before the deletion committed.
 */
export async function findCardAndClaim(run: RunStatement, claim: Claim): Promise<{ card: CardsTable; claimed: boolean } | undefined> {
  const result = await run(sql<CardsTable & { claimed: boolean }>`
    with card as (
      select * from vault.cards where token = ${claim.token} and client_ref = ${claim.clientRef} for key share
    ), claim as (
      insert into vault.authorizations
        (id, payment_ref, token, client_ref, amount_value, currency, merchant, outcome, three_ds_enrolled, created_at, updated_at)
      select ${claim.id}, ${claim.paymentRef}, card.token, card.client_ref, ${claim.amount.value}, ${claim.amount.currency},
             ${claim.merchant}, 'pending', false, ${claim.at}, ${claim.at}
      from card
      on conflict (payment_ref) do nothing
      returning id
    )
    select card.*, exists (select 1 from claim) as claimed from card`);
  const row = result.rows[0];
  if (!row) return undefined;
  const { claimed, ...card } = row;
  return { card, claimed };
}

export type OutcomeUpdate = Pick<AuthorizationsTable,
  'processor_ref' | 'outcome' | 'decline_reason' | 'three_ds_enrolled' | 'three_ds_result' | 'challenge_ref' | 'updated_at'> & {
  /** The network transaction id an approval returned: kept on the card if it has none yet. */
  network_transaction_id: string | null;
};

/**
 * Records the processor's outcome and its audit event in one statement (one round trip), and the
 * card's stored-credential reference if this approval is the card's first to return one: set
 * once, so a later initial authorization (a CVV typed again) never replaces the reference its
 * subsequent payments already cite. Plain SQL rather than the query builder: this runs once per
 * authorization, and building a three-CTE update cost more CPU than the statement itself.
 */
export async function recordOutcome(
  run: RunStatement, id: string, update: OutcomeUpdate, event: AuditEvent,
): Promise<AuthorizationRow> {
  assertAuditEvent(event);
  const result = await run(sql<AuthorizationRow>`
    with audited as (
      insert into vault.audit_outbox (event_id, payload, created_at)
      values (${event.id}, ${JSON.stringify(event)}::jsonb, ${event.occurredAt}::timestamptz)
    ), stored_credential as (
      update vault.cards set network_transaction_id = ${update.network_transaction_id}::text
      where ${update.network_transaction_id}::text is not null and network_transaction_id is null
        and token = (select token from vault.authorizations where id = ${id})
    )
    update vault.authorizations set processor_ref = ${update.processor_ref}, outcome = ${update.outcome},
      decline_reason = ${update.decline_reason}, three_ds_enrolled = ${update.three_ds_enrolled},
      three_ds_result = ${update.three_ds_result}, challenge_ref = ${update.challenge_ref}, updated_at = ${update.updated_at}
    where id = ${id}
    returning *`);
  // No such row: throwing rolls the event back with the rest of the transaction.
  const row = result.rows[0];
  if (!row) throw new Error(`authorization ${id} does not exist`);
  return row;
}

export type ChallengeRow = AuthorizationRow & { last4: string };

export async function findChallenge(db: Kysely<VaultDatabase>, challengeRef: string, lock = false): Promise<ChallengeRow | undefined> {
  let query = db.selectFrom('vault.authorizations as a')
    .innerJoin('vault.cards as c', 'c.token', 'a.token')
    .selectAll('a')
    .select('c.last4')
    .where('a.challenge_ref', '=', challengeRef);
  if (lock) query = query.forUpdate('a');
  return query.executeTakeFirst();
}

export async function lockAuthorization(trx: Transaction<VaultDatabase>, id: string): Promise<AuthorizationRow | undefined> {
  return trx.selectFrom('vault.authorizations').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function findRefundByRef(db: Kysely<VaultDatabase>, refundRef: string): Promise<RefundsTable | undefined> {
  return db.selectFrom('vault.refunds').selectAll().where('refund_ref', '=', refundRef).executeTakeFirst();
}

export async function refundedTotal(trx: Transaction<VaultDatabase>, authorizationId: string): Promise<number> {
  const row = await trx.selectFrom('vault.refunds')
    .select(sql<number>`coalesce(sum(amount_value), 0)::int8`.as('total'))
    .where('authorization_id', '=', authorizationId)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export async function insertRefund(trx: Transaction<VaultDatabase>, row: RefundsTable): Promise<boolean> {
  const inserted = await trx.insertInto('vault.refunds').values(row)
    .onConflict((oc) => oc.column('refund_ref').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
