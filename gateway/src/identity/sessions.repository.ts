// SQL for sessions. The token itself is never stored: only its SHA-256.
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { preparedQuery } from '../../../lib/prepared-query.js';

type Db = Kysely<GatewayDatabase>;

export async function insertSession(db: Db, row: {
  id: string; clientId: string; tokenHash: Buffer; now: Date; expiresAt: Date; ip: string | null; userAgent: string | null;
}): Promise<void> {
  await db.insertInto('gateway.sessions').values({
    id: row.id,
    client_id: row.clientId,
    token_hash: row.tokenHash,
    created_at: row.now,
    last_seen_at: row.now,
    expires_at: row.expiresAt,
    revoked_at: null,
    ip: row.ip,
    user_agent: row.userAgent,
  }).execute();
}

const sessionByTokenHash = preparedQuery((db: Db, p: { tokenHash: Buffer }) => db.selectFrom('gateway.sessions as s')
  .innerJoin('gateway.clients as c', 'c.id', 's.client_id')
  .select(['s.id', 's.client_id', 's.last_seen_at', 's.expires_at', 's.revoked_at', 'c.phone', 'c.language', 'c.blocked_at'])
  .where('s.token_hash', '=', p.tokenHash));

/** The session and its client's block state, in one query (a block bites on the next request). */
export async function findSession(db: Db, tokenHash: Buffer) {
  return sessionByTokenHash.first(db, { tokenHash });
}

export async function touchSession(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('gateway.sessions').set({ last_seen_at: now })
    .where('id', '=', id).where('last_seen_at', '<', now).execute();
}

export async function revokeSession(db: Db, id: string, now: Date): Promise<boolean> {
  const row = await db.updateTable('gateway.sessions').set({ revoked_at: now })
    .where('id', '=', id).where('revoked_at', 'is', null).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Revokes every live session of a client except `keep` (if given); returns how many. */
export async function revokeClientSessions(db: Db, clientId: string, now: Date, keep?: string): Promise<number> {
  let q = db.updateTable('gateway.sessions').set({ revoked_at: now })
    .where('client_id', '=', clientId).where('revoked_at', 'is', null);
  if (keep) q = q.where('id', '!=', keep);
  const rows = await q.returning('id').execute();
  return rows.length;
}
