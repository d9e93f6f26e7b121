// SQL for phone verifications (SP-5.1) and the single-use token a confirmed one yields.
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import type { SmsLanguage } from './sms-texts.js';

type Db = Kysely<GatewayDatabase>;

export type VerificationPurpose = 'verification' | 'password_reset';

export async function insertVerification(db: Db, id: string, phone: string, purpose: VerificationPurpose, language: SmsLanguage, now: Date): Promise<void> {
  await db.insertInto('gateway.verifications').values({
    id, phone, purpose, language, created_at: now, confirmed_at: null, token_hash: null, token_expires_at: null, token_used_at: null,
  }).execute();
}

export async function findVerification(db: Db, id: string) {
  return db.selectFrom('gateway.verifications').select(['id', 'phone', 'purpose', 'confirmed_at']).where('id', '=', id).executeTakeFirst();
}

/** Marks the verification confirmed and attaches the token hash; false if it already was. */
export async function confirmVerification(db: Db, id: string, tokenHash: Buffer, now: Date, expiresAt: Date): Promise<boolean> {
  const row = await db.updateTable('gateway.verifications')
    .set({ confirmed_at: now, token_hash: tokenHash, token_expires_at: expiresAt })
    .where('id', '=', id).where('confirmed_at', 'is', null).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Whether the token is live now (read-only: a refused request must consume nothing). */
export async function peekToken(db: Db, tokenHash: Buffer, purpose: VerificationPurpose, now: Date) {
  return db.selectFrom('gateway.verifications').select(['id', 'phone'])
    .where('token_hash', '=', tokenHash).where('purpose', '=', purpose).where('token_used_at', 'is', null).where('token_expires_at', '>', now)
    .executeTakeFirst();
}

/** Uses the token up; of two concurrent uses only one gets the row. */
export async function consumeToken(db: Db, tokenHash: Buffer, purpose: VerificationPurpose, now: Date) {
  return db.updateTable('gateway.verifications').set({ token_used_at: now })
    .where('token_hash', '=', tokenHash).where('purpose', '=', purpose).where('token_used_at', 'is', null).where('token_expires_at', '>', now)
    .returning(['id', 'phone', 'language']).executeTakeFirst();
}

/** Ends a token that was not used, e.g. after too many wrong answers to the reset's extra question. */
export async function revokeToken(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('gateway.verifications').set({ token_used_at: now })
    .where('id', '=', id).where('token_used_at', 'is', null).execute();
}
