// SQL for one-time codes. Each statement is one atomic step of the protocol in otp.service.ts.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { preparedQuery } from '../../../lib/prepared-query.js';

type Db = Kysely<GatewayDatabase>;

export interface NewOtpRow {
  id: string; purpose: string; subjectId: string; phone: string; keyId: string; codeHash: Buffer; createdAt: Date; expiresAt: Date;
}

const otpInsert = preparedQuery((db: Db, p: NewOtpRow) => db.insertInto('gateway.otps').values({
  id: p.id,
  purpose: p.purpose,
  subject_id: p.subjectId,
  phone: p.phone,
  key_id: p.keyId,
  code_hash: p.codeHash,
  created_at: p.createdAt,
  expires_at: p.expiresAt,
  used_at: null,
}));

export async function insertOtp(db: Db, row: NewOtpRow): Promise<void> {
  await otpInsert.rows(db, row);
}

/**
 * insertOtp's INSERT for a data-modifying WITH, written only when `guard` (an SQL condition) holds:
 * a statement that stores the code along with the change the code is to confirm.
 */
export function otpInsertWhere(row: NewOtpRow, guard: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`insert into gateway.otps (id, purpose, subject_id, phone, key_id, code_hash, created_at, expires_at, used_at)
    select ${row.id}::uuid, ${row.purpose}, ${row.subjectId}, ${row.phone}, ${row.keyId}, ${row.codeHash}::bytea,
           ${row.createdAt}::timestamptz, ${row.expiresAt}::timestamptz, null where ${guard}`;
}

/** The newest code issued for this purpose and subject (a subject normally has exactly one). */
export async function latestOtp(db: Db, purpose: string, subjectId: string) {
  return db.selectFrom('gateway.otps')
    .select(['id', 'attempts', 'expires_at', 'used_at'])
    .where('purpose', '=', purpose).where('subject_id', '=', subjectId)
    .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1)
    .executeTakeFirst();
}

const attemptReservation = preparedQuery((db: Db, p: { purpose: string; subjectId: string; now: Date }) => db.updateTable('gateway.otps')
  .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
  .where('id', '=', (eb) => eb.selectFrom('gateway.otps').select('id')
    .where('purpose', '=', p.purpose).where('subject_id', '=', p.subjectId)
    .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1))
  .where('used_at', 'is', null).where('expires_at', '>', p.now).where('attempts', '<', 3)
  .returning(['id', 'key_id', 'code_hash', 'attempts']));

/**
 * Counts an attempt on the newest code for this purpose and subject before any comparison, in
 * one statement; returns its hash only if that code is still live.
 */
export async function reserveAttempt(db: Db, purpose: string, subjectId: string, now: Date) {
  return attemptReservation.first(db, { purpose, subjectId, now });
}

export interface ReservedAttempt { id: string; key_id: string; code_hash: Buffer; attempts: number }

/**
 * reserveAttempt's UPDATE … RETURNING for a data-modifying WITH, counting the attempt only when
 * `guard` (an SQL condition) holds: a caller that locks the code's subject in the same statement
 * counts the attempt only if the subject still awaits its code.
 */
export function attemptReservationWhere(purpose: string, subjectId: string, now: Date, guard: RawBuilder<unknown>): RawBuilder<ReservedAttempt> {
  return sql<ReservedAttempt>`update gateway.otps set attempts = attempts + 1
    where id = (select id from gateway.otps where purpose = ${purpose} and subject_id = ${subjectId}
                order by created_at desc, id desc limit 1)
      and used_at is null and expires_at > ${now}::timestamptz and attempts < 3 and ${guard}
    returning id, key_id, code_hash, attempts`;
}

const consumption = preparedQuery((db: Db, p: { id: string; now: Date }) => db.updateTable('gateway.otps').set({ used_at: p.now })
  .where('id', '=', p.id).where('used_at', 'is', null)
  .returning('id'));

/** Consumes the code; of two concurrent right answers only one gets a row back. */
export async function consumeOtp(db: Db, id: string, now: Date): Promise<boolean> {
  return (await consumption.first(db, { id, now })) !== undefined;
}

/** consumeOtp's UPDATE … RETURNING, for a data-modifying WITH that makes its change only if the code was consumed. */
export function otpConsumption(id: string, now: Date): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`update gateway.otps set used_at = ${now}::timestamptz where id = ${id}::uuid and used_at is null returning id`;
}
