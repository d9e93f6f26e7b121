// SQL of checkout sessions. A session leaves `open` once (the table's trigger refuses anything
// else); who may move it is decided by conditional UPDATEs, never by a read followed by a write.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import type { CheckoutSessionsTable } from './checkout.table.js';

export type SessionRow = Selectable<CheckoutSessionsTable>;

const COLUMNS = [
  'id', 'merchant_id', 'livemode', 'provider_id', 'amount', 'currency', 'params', 'return_url', 'cancel_url', 'reference',
  'status', 'payment_id', 'created_at', 'expires_at', 'completed_at', 'expired_at',
] as const;

export async function insertSession(db: Kysely<GatewayDatabase>, s: Omit<SessionRow, 'status' | 'payment_id' | 'completed_at' | 'expired_at'>): Promise<SessionRow> {
  return db.insertInto('gateway.checkout_sessions').values({
    ...s, params: JSON.stringify(s.params), status: 'open', payment_id: null, completed_at: null, expired_at: null,
  }).returning(COLUMNS).executeTakeFirstOrThrow();
}

/** The merchant's session in the key's mode; another merchant's (or mode's) is not found. */
export async function findMerchantSession(db: Kysely<GatewayDatabase>, id: string, merchantId: string, livemode: boolean): Promise<SessionRow | undefined> {
  return db.selectFrom('gateway.checkout_sessions').select(COLUMNS)
    .where('id', '=', id).where('merchant_id', '=', merchantId).where('livemode', '=', livemode).executeTakeFirst();
}

export async function findSession(db: Kysely<GatewayDatabase>, id: string): Promise<(SessionRow & { merchant_name: string }) | undefined> {
  return db.selectFrom('gateway.checkout_sessions as s').innerJoin('gateway.merchants as m', 'm.id', 's.merchant_id')
    .select(COLUMNS.map((c) => `s.${c}` as const)).select('m.name as merchant_name')
    .where('s.id', '=', id).executeTakeFirst();
}

/**
 * Makes `paymentId` the session's payment, in the payment's own transaction. One statement, so
 * of any number of concurrent attempts one wins: the session must be open and unexpired, with no
 * payment or only one that failed (declined, failed, expired, or left unconfirmed past its window).
 * A racing attempt waits for the winner's row lock, then finds `payment_id` set to a payment its
 * statement cannot see, so it claims nothing.
 */
export async function claimSessionForPayment(db: Kysely<GatewayDatabase>, id: string, paymentId: string, now: Date): Promise<boolean> {
  const result = await sql`
    update gateway.checkout_sessions s set payment_id = ${paymentId}
    where s.id = ${id} and s.status = 'open' and s.expires_at > ${now}
      and (s.payment_id is null or exists (
        select 1 from gateway.payments p where p.id = s.payment_id
          and (p.status in ('declined', 'failed', 'expired')
               or (p.status in ('requires_confirmation', 'requires_action') and p.expires_at <= ${now}))))`.execute(db);
  return Number(result.numAffectedRows) === 1;
}

/** open → complete when its payment succeeded; undefined when the session was not open with that payment. */
export async function completeSession(db: Kysely<GatewayDatabase>, id: string, paymentId: string, now: Date): Promise<SessionRow | undefined> {
  return db.updateTable('gateway.checkout_sessions').set({ status: 'complete', completed_at: now })
    .where('id', '=', id).where('payment_id', '=', paymentId).where('status', '=', 'open')
    .returning(COLUMNS).executeTakeFirst();
}

/**
 * Expires open sessions: one (`id`, by its merchant or when read past its time) or all due ones
 * (the sweep). Two statements in the caller's transaction: the sessions are locked first, so the
 * second statement's snapshot sees any payment a concurrent /pay committed before the lock was
 * granted; a session whose payment may still succeed (processing, or open within its window) is
 * left open. `dueOnly` false ends a session early (the merchant's expire).
 */
export async function expireSessions(
  trx: Kysely<GatewayDatabase>,
  now: Date,
  which: { id: string; merchantId: string; dueOnly: boolean } | { limit: number },
): Promise<SessionRow[]> {
  let locking = trx.selectFrom('gateway.checkout_sessions').select('id').where('status', '=', 'open');
  if ('id' in which) {
    // One session: wait for a /pay holding it, then decide on what it committed.
    locking = locking.where('id', '=', which.id).where('merchant_id', '=', which.merchantId);
    if (which.dueOnly) locking = locking.where('expires_at', '<=', now);
    locking = locking.forUpdate();
  } else {
    // The sweep passes over sessions being paid right now; the next round sees them.
    locking = locking.where('expires_at', '<=', now).orderBy('expires_at').limit(which.limit).forUpdate().skipLocked();
  }
  const locked = await locking.execute();
  if (locked.length === 0) return [];
  const result = await sql<SessionRow>`
    update gateway.checkout_sessions s set status = 'expired', expired_at = ${now}
    where s.id in (${sql.join(locked.map((r) => r.id))}) and s.status = 'open'
      and not exists (select 1 from gateway.payments p where p.id = s.payment_id
        and (p.status = 'processing' or (p.status in ('requires_confirmation', 'requires_action') and p.expires_at > ${now})))
    returning ${sql.join(COLUMNS.map((c) => sql.ref(`s.${c}`)))}`.execute(trx);
  return result.rows;
}
