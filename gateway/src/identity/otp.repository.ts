// SQL for one-time codes. Each statement is one atomic step of the protocol in otp.service.ts.
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

type Db = Kysely<GatewayDatabase>;

export async function insertOtp(db: Db, row: {
  id: string; purpose: string; subjectId: string; phone: string; keyId: string; codeHash: Buffer; createdAt: Date; expiresAt: Date;
}): Promise<void> {
  await db.insertInto('gateway.otps').values({
    id: row.id,
    purpose: row.purpose,
    subject_id: row.subjectId,
    phone: row.phone,
    key_id: row.keyId,
    code_hash: row.codeHash,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    used_at: null,
  }).execute();
}

/** The newest code issued for this purpose and subject (a subject normally has exactly one). */
export async function latestOtp(db: Db, purpose: string, subjectId: string) {
  return db.selectFrom('gateway.otps')
    .select(['id', 'attempts', 'expires_at', 'used_at'])
    .where('purpose', '=', purpose).where('subject_id', '=', subjectId)
    .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1)
    .executeTakeFirst();
}

/**
 * Counts an attempt on the newest code for this purpose and subject before any comparison, in
 * one statement; returns its hash only if that code is still live.
 */
export async function reserveAttempt(db: Db, purpose: string, subjectId: string, now: Date) {
  return db.updateTable('gateway.otps')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('id', '=', (eb) => eb.selectFrom('gateway.otps').select('id')
      .where('purpose', '=', purpose).where('subject_id', '=', subjectId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1))
    .where('used_at', 'is', null).where('expires_at', '>', now).where('attempts', '<', 3)
    .returning(['id', 'key_id', 'code_hash', 'attempts'])
    .executeTakeFirst();
}

/** Consumes the code; of two concurrent right answers only one gets a row back. */
export async function consumeOtp(db: Db, id: string, now: Date): Promise<boolean> {
  const row = await db.updateTable('gateway.otps').set({ used_at: now })
    .where('id', '=', id).where('used_at', 'is', null)
    .returning('id').executeTakeFirst();
  return row !== undefined;
}
