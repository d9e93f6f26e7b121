// SP-11 lockout counter, keyed by normalised phone (known or not). Each function is ONE
// statement: the reservation upsert takes the row lock, so concurrent attempts on any number of
// gateway instances are serialised by PostgreSQL and never evaluate more than 3 passwords.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

type Db = Kysely<GatewayDatabase>;

export const MAX_FAILURES = 3;
export const LOCK_MS = 15 * 60_000;
/** A reservation whose request died (crash, lost connection) stops holding a slot after this. */
export const PENDING_MS = 60_000;

/**
 * Reserves one password evaluation: succeeds only while failures + in-flight attempts < 3 and the
 * login is not locked; an expired lock restarts the count. Returns false when refused.
 */
export async function reserveAttempt(db: Db, phone: string, now: Date): Promise<boolean> {
  const pendingUntil = new Date(now.getTime() + PENDING_MS);
  const { rows } = await sql<{ failures: number }>`
    insert into gateway.login_attempts as a (phone, failures, pending, pending_until, locked_until, updated_at)
    values (${phone}, 0, 1, ${pendingUntil}, null, ${now})
    on conflict (phone) do update set
      failures = case when a.locked_until <= ${now} then 0 else a.failures end,
      pending = case when a.pending_until is null or a.pending_until <= ${now} then 1 else a.pending + 1 end,
      pending_until = ${pendingUntil},
      locked_until = case when a.locked_until <= ${now} then null else a.locked_until end,
      updated_at = ${now}
    where (a.locked_until is null or a.locked_until <= ${now})
      and (case when a.locked_until <= ${now} then 0 else a.failures end)
        + (case when a.pending_until is null or a.pending_until <= ${now} then 0 else a.pending end) < ${MAX_FAILURES}
    returning a.failures`.execute(db);
  return rows.length === 1;
}

export async function lockedUntil(db: Db, phone: string, now: Date): Promise<Date | null> {
  const row = await db.selectFrom('gateway.login_attempts').select('locked_until')
    .where('phone', '=', phone).where('locked_until', '>', now).executeTakeFirst();
  return row?.locked_until ?? null;
}

/** A reserved attempt failed: count it; the failure that fills slot 3 locks for 15 minutes. */
export async function recordFailure(db: Db, phone: string, now: Date): Promise<{ lockedUntil: Date | null }> {
  const lockUntil = new Date(now.getTime() + LOCK_MS);
  const { rows } = await sql<{ locked_until: Date | null }>`
    update gateway.login_attempts set
      failures = least(failures + 1, ${MAX_FAILURES}),
      pending = greatest(pending - 1, 0),
      locked_until = case when failures + 1 >= ${MAX_FAILURES} then ${lockUntil} else locked_until end,
      updated_at = ${now}
    where phone = ${phone}
    returning locked_until`.execute(db);
  const until = rows[0]?.locked_until ?? null;
  return { lockedUntil: until && until > now ? until : null };
}

/** A reserved attempt succeeded: the counter starts again. */
export async function recordSuccess(db: Db, phone: string, now: Date): Promise<void> {
  await sql`update gateway.login_attempts
    set failures = 0, pending = greatest(pending - 1, 0), locked_until = null, updated_at = ${now}
    where phone = ${phone}`.execute(db);
}

/** A reserved attempt never evaluated the password (hash queue full): give the slot back. */
export async function releaseAttempt(db: Db, phone: string, now: Date): Promise<void> {
  await sql`update gateway.login_attempts set pending = greatest(pending - 1, 0), updated_at = ${now}
    where phone = ${phone}`.execute(db);
}
