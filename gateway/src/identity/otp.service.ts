// One-time codes (SP-5.1, SP-8, SP-9, SP-10, SP-12). A code is 6 digits from the CSPRNG, stored
// only as HMAC(key, purpose ‖ subject ‖ code) with its key id, valid 15 minutes (SP-9 wins over
// NIST's 10), single use, bound to one purpose and one subject, and dead after 3 wrong entries.
// Attempts are counted before comparing, in one UPDATE; consumption is a second conditional
// UPDATE, so concurrent guesses cannot exceed 3 and two right answers cannot both win.
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { chargeSmsCaps } from './otp.caps.js';
import { consumeOtp, insertOtp, latestOtp, reserveAttempt } from './otp.repository.js';

export type OtpPurpose = 'verification' | 'password_change' | 'password_reset' | 'payment';
export type OtpCheck = { ok: true } | { ok: false; reason: 'otp_invalid' | 'otp_expired' | 'otp_attempts_exceeded' };

export const OTP_TTL_MS = 15 * 60_000;
export const OTP_MAX_ATTEMPTS = 3;

const VISITOR_PURPOSES: ReadonlySet<OtpPurpose> = new Set(['verification', 'password_reset']);

function codeHash(key: Buffer, purpose: OtpPurpose, subjectId: string, code: string): Buffer {
  // Length-prefixed fields: no two (purpose, subject, code) triples share an input.
  const mac = createHmac('sha256', key);
  for (const part of [purpose, subjectId, code]) {
    const bytes = Buffer.from(part, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    mac.update(len).update(bytes);
  }
  return mac.digest();
}

export async function issueOtp(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: {
  purpose: OtpPurpose;
  subjectId: string;
  phone: string;
  message: (code: string) => string;
  ip?: string;
}): Promise<{ otpId: string; expiresAt: Date }> {
  await chargeSmsCaps(ctx, {
    scope: VISITOR_PURPOSES.has(input.purpose) ? 'visitor' : 'client',
    phone: input.phone,
    ...(input.ip ? { ip: input.ip } : {}),
  });
  const { otpActiveKeyId, otpKeys } = ctx.config.identity;
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const now = ctx.clock.now();
  const otpId = uuidv7(now);
  const expiresAt = new Date(now.getTime() + OTP_TTL_MS);
  await insertOtp(db, {
    id: otpId,
    purpose: input.purpose,
    subjectId: input.subjectId,
    phone: input.phone,
    keyId: otpActiveKeyId,
    codeHash: codeHash(otpKeys[otpActiveKeyId]!.expose(), input.purpose, input.subjectId, code),
    createdAt: now,
    expiresAt,
  });
  await ctx.sms.send({ to: input.phone, text: input.message(code) });
  return { otpId, expiresAt };
}

/**
 * Checks a code. The attempt is counted in its own statement: pass `ctx.db` or a transaction
 * that COMMITS even when the answer is a failure, or a rolled-back wrong guess is not counted.
 */
export async function verifyOtp(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: {
  purpose: OtpPurpose;
  subjectId: string;
  code: string;
}): Promise<OtpCheck> {
  const now = ctx.clock.now();
  const reserved = await reserveAttempt(db, input.purpose, input.subjectId, now);
  if (!reserved) {
    const dead = await latestOtp(db, input.purpose, input.subjectId); // why the UPDATE refused it
    if (!dead || dead.used_at !== null) return { ok: false, reason: 'otp_invalid' };
    if (dead.expires_at.getTime() <= now.getTime()) return { ok: false, reason: 'otp_expired' };
    return { ok: false, reason: 'otp_attempts_exceeded' };
  }
  const key = ctx.config.identity.otpKeys[reserved.key_id];
  // A code under a retired key can no longer be checked: it is simply wrong.
  const expected = key ? codeHash(key.expose(), input.purpose, input.subjectId, input.code) : Buffer.alloc(32);
  const right = key !== undefined && timingSafeEqual(expected, reserved.code_hash);
  if (right) {
    return (await consumeOtp(db, reserved.id, now)) ? { ok: true } : { ok: false, reason: 'otp_invalid' };
  }
  return { ok: false, reason: reserved.attempts >= OTP_MAX_ATTEMPTS ? 'otp_attempts_exceeded' : 'otp_invalid' };
}
