// Sessions: opaque 256-bit random tokens, stored as SHA-256, idle time-out (15 min by default)
// and an absolute lifetime (12 h). last_seen_at is written at most once a minute.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import type { SmsLanguage } from './sms-texts.js';
import { findSession, insertSession, touchSession } from './sessions.repository.js';

const TOUCH_EVERY_MS = 60_000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface AuthenticatedClient {
  id: string;
  phone: string;
  sessionId: string;
  language: SmsLanguage;
}

export type SessionCheck =
  | { ok: true; client: AuthenticatedClient }
  | { ok: false; reason: 'unauthorized' | 'client_blocked' };

export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export async function openSession(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: {
  clientId: string; ip: string | null; userAgent: string | null;
}): Promise<{ sessionId: string; token: string; expiresAt: Date }> {
  const now = ctx.clock.now();
  const token = randomBytes(32).toString('base64url');
  const sessionId = uuidv7(now);
  const expiresAt = new Date(now.getTime() + ctx.config.identity.session.absoluteHours * 3_600_000);
  await insertSession(db, { id: sessionId, clientId: input.clientId, tokenHash: tokenHash(token), now, expiresAt, ip: input.ip, userAgent: input.userAgent });
  return { sessionId, token, expiresAt };
}

export async function checkSession(ctx: GatewayContext, token: string): Promise<SessionCheck> {
  if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: 'unauthorized' };
  const row = await findSession(ctx.db, tokenHash(token));
  const now = ctx.clock.now();
  const idleMs = ctx.config.identity.session.idleMinutes * 60_000;
  if (!row) return { ok: false, reason: 'unauthorized' };
  // A block revokes the sessions too; its holder is told why (403) rather than just 401.
  if (row.blocked_at !== null) return { ok: false, reason: 'client_blocked' };
  if (row.revoked_at !== null || row.expires_at <= now || row.last_seen_at.getTime() + idleMs <= now.getTime()) {
    return { ok: false, reason: 'unauthorized' };
  }
  if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_EVERY_MS) await touchSession(ctx.db, row.id, now);
  return { ok: true, client: { id: row.client_id, phone: row.phone, sessionId: row.id, language: row.language } };
}
