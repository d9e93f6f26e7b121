// SQL for client rows: lookup by login phone or id, registration insert, password and block updates.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import type { SmsLanguage } from './sms-texts.js';

type Db = Kysely<GatewayDatabase>;

export async function findClientForLogin(db: Db, phone: string) {
  return db.selectFrom('gateway.clients').select(['id', 'password_hash', 'blocked_at'])
    .where('phone', '=', phone).executeTakeFirst();
}

/** The client a password reset is for, with the birth date it must be confirmed with. */
export async function findClientForReset(db: Db, phone: string) {
  return db.selectFrom('gateway.clients').select(['id', sql<string>`birth_date::text`.as('birth_date')])
    .where('phone', '=', phone).executeTakeFirst();
}

export async function findClientById(db: Db, id: string) {
  return db.selectFrom('gateway.clients')
    .select(['id', 'phone', 'name', sql<string>`birth_date::text`.as('birth_date'), 'created_at', 'password_hash', 'blocked_at', 'language'])
    .where('id', '=', id).executeTakeFirst();
}

export async function phoneRegistered(db: Db, phone: string): Promise<boolean> {
  const row = await db.selectFrom('gateway.clients').select('id').where('phone', '=', phone).executeTakeFirst();
  return row !== undefined;
}

/** Inserts a client; returns false when the phone is already registered (unique login, SP-6). */
export async function insertClient(db: Db, row: {
  id: string; phone: string; language: SmsLanguage; name: string; birthDate: string; passwordHash: string; now: Date;
}): Promise<boolean> {
  const inserted = await db.insertInto('gateway.clients').values({
    id: row.id,
    phone: row.phone,
    language: row.language,
    name: row.name,
    birth_date: row.birthDate,
    password_hash: row.passwordHash,
    created_at: row.now,
    password_changed_at: row.now,
    blocked_at: null,
    blocked_reason: null,
    blocked_by: null,
  }).onConflict((oc) => oc.column('phone').doNothing()).returning('id').executeTakeFirst();
  return inserted !== undefined;
}

export async function setPasswordHash(db: Db, clientId: string, passwordHash: string, now: Date, changed: boolean): Promise<void> {
  await db.updateTable('gateway.clients')
    .set(changed ? { password_hash: passwordHash, password_changed_at: now } : { password_hash: passwordHash })
    .where('id', '=', clientId).execute();
}

/** Sets or lifts the bank's block; returns false when the client does not exist. */
export async function setBlock(db: Db, clientId: string, block: { at: Date; reason: string; by: string } | null): Promise<boolean> {
  const row = await db.updateTable('gateway.clients')
    .set(block
      ? { blocked_at: block.at, blocked_reason: block.reason, blocked_by: block.by }
      : { blocked_at: null, blocked_reason: null, blocked_by: null })
    .where('id', '=', clientId).returning('id').executeTakeFirst();
  return row !== undefined;
}
