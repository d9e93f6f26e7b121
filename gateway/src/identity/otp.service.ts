// One-time codes (SP-5.1, SP-8, SP-9, SP-10, SP-12). A code is 6 digits from the CSPRNG, stored
// only as HMAC(key, purpose ‖ subject ‖ code) with its key id, valid 15 minutes (SP-9 wins over
// NIST's 10), single use, bound to one purpose and one subject, and dead after 3 wrong entries.
// Attempts are counted before comparing, in one UPDATE; consumption is a second conditional
// UPDATE, so concurrent guesses cannot exceed 3 and two right answers cannot both win. A client's
// wrong codes across all its payments and password changes are capped per day (otp.guesses.ts).
// Issuing stores the code and returns the SMS; the caller sends it with deliverOtp AFTER its
// transaction commits, so a slow SMS provider holds no database connection or row lock.
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Kysely, RawBuilder } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type AuditInput, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { chargeSmsCaps } from './otp.caps.js';
import { assertGuessesLeft, giveBackGuess, takeGuess } from './otp.guesses.js';
import { consumeOtp, insertOtp, latestOtp, otpConsumption, otpInsertWhere, reserveAttempt, type NewOtpRow, type ReservedAttempt } from './otp.repository.js';
import type { SmsMessage } from './sms.provider.js';

/** Codes anyone can request for any phone, and codes a logged-in client requests for itself. */
export type VisitorPurpose = 'verification' | 'password_reset';
export type ClientPurpose = 'password_change' | 'payment';
export type OtpPurpose = VisitorPurpose | ClientPurpose;
/** `retryAfterSeconds` is set when the client's daily cap on wrong codes refused the check unevaluated. */
export type OtpCheck = { ok: true } | { ok: false; reason: 'otp_invalid' | 'otp_expired' | 'otp_attempts_exceeded'; retryAfterSeconds?: number };

/** A client's codes carry its id: the per-client cap on wrong codes applies to them. */
type Owner = { purpose: VisitorPurpose; clientId?: undefined } | { purpose: ClientPurpose; clientId: string };

export const OTP_TTL_MS = 15 * 60_000;
export const OTP_MAX_ATTEMPTS = 3;

/** A stored code whose SMS is still to be sent (deliverOtp), once the issuing transaction has committed. */
export interface IssuedOtp {
  otpId: string;
  purpose: OtpPurpose;
  expiresAt: Date;
  sms: SmsMessage;
}

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

/** A code made and its SMS caps charged, not yet stored: storeOtpWhere puts it in the caller's statement. */
export interface PendingOtp {
  issued: IssuedOtp;
  row: NewOtpRow;
}

type IssueInput = Owner & { subjectId: string; phone: string; message: (code: string) => string; ip?: string };

/**
 * Charges the SMS caps and makes a new code, storing nothing. A client that used up today's
 * wrong codes gets no new code.
 */
export async function prepareOtp(ctx: GatewayContext, input: IssueInput): Promise<PendingOtp> {
  if (input.clientId !== undefined) await assertGuessesLeft(ctx, input.clientId);
  await chargeSmsCaps(ctx, {
    scope: input.clientId === undefined ? 'visitor' : 'client',
    phone: input.phone,
    ...(input.ip ? { ip: input.ip } : {}),
  });
  const { otpActiveKeyId, otpKeys } = ctx.config.identity;
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const now = ctx.clock.now();
  const otpId = uuidv7(now);
  const expiresAt = new Date(now.getTime() + OTP_TTL_MS);
  return {
    issued: { otpId, purpose: input.purpose, expiresAt, sms: { to: input.phone, text: input.message(code) } },
    row: {
      id: otpId,
      purpose: input.purpose,
      subjectId: input.subjectId,
      phone: input.phone,
      keyId: otpActiveKeyId,
      codeHash: codeHash(otpKeys[otpActiveKeyId]!.expose(), input.purpose, input.subjectId, code),
      createdAt: now,
      expiresAt,
    },
  };
}

/** The INSERT of a prepared code, for a statement that stores it only when `guard` holds. */
export function storeOtpWhere(pending: PendingOtp, guard: RawBuilder<unknown>): RawBuilder<unknown> {
  return otpInsertWhere(pending.row, guard);
}

/**
 * Charges the SMS caps and stores a new code; returns the SMS to send with deliverOtp after the
 * caller's transaction commits.
 */
export async function issueOtp(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: IssueInput): Promise<IssuedOtp> {
  const pending = await prepareOtp(ctx, input);
  await insertOtp(db, pending.row);
  return pending.issued;
}

/**
 * Sends an issued code; call it after the issuing transaction committed. When the provider fails
 * the caller answers 503 as before: the failure is audited, and the code stays bound to a request
 * the client has no use for (its id was never answered, or the payment expires unconfirmed), so
 * the client simply starts a new one. A message the provider delivered despite a time-out still
 * confirms a payment that a replayed Idempotency-Key shows.
 */
export async function deliverOtp(ctx: GatewayContext, origin: RequestOrigin, otp: IssuedOtp, who: Pick<AuditInput, 'actor' | 'targets'>): Promise<void> {
  try {
    await ctx.sms.send(otp.sms);
    ctx.metrics.otpSms(otp.purpose, 'sent');
  } catch (err) {
    ctx.metrics.otpSms(otp.purpose, 'failed');
    await recordAudit(ctx.db, ctx.clock, origin, {
      actor: who.actor, action: 'otp.send_failed', outcome: 'failure', targets: who.targets, details: { purpose: otp.purpose, otpId: otp.otpId },
    });
    throw err;
  }
}

/**
 * A right code's consumption, run by the caller: `consumption` (an UPDATE … RETURNING, a row only
 * for the one right answer that wins) goes in the caller's statement, which makes its own change
 * only if it returned a row, and says whether it did. One round trip where two would do.
 */
export type ConsumeWith = (consumption: RawBuilder<{ id: string }>) => Promise<boolean>;

/**
 * Checks a code. The attempt is counted in its own statement: pass `ctx.db` or a transaction
 * that COMMITS even when the answer is a failure, or a rolled-back wrong guess is not counted.
 * A client's code first takes one of its daily wrong-code slots (Redis, outside the transaction);
 * at the cap the code is refused without being compared.
 */
export async function verifyOtp(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: Owner & {
  subjectId: string;
  code: string;
  consumeWith?: ConsumeWith;
}): Promise<OtpCheck> {
  const check = await checkOwned(db, ctx, input);
  ctx.metrics.otpCheck(input.purpose, check.ok ? 'ok' : check.reason);
  return check;
}

async function checkOwned(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: Owner & { subjectId: string; code: string }): Promise<OtpCheck> {
  if (input.clientId === undefined) return (await checkCode(db, ctx, input)).check;
  const guess = await takeGuess(ctx, input.clientId);
  if (!guess.ok) return { ok: false, reason: 'otp_attempts_exceeded', retryAfterSeconds: guess.retryAfterSeconds };
  let wrongGuess = false;
  try {
    const result = await checkCode(db, ctx, input);
    wrongGuess = result.wrongGuess;
    return result.check;
  } finally {
    if (!wrongGuess) await giveBackGuess(ctx, guess.key);
  }
}

/** The check itself; `wrongGuess` when a live code was compared and did not match. */
async function checkCode(db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: CodeInput): Promise<{ check: OtpCheck; wrongGuess: boolean }> {
  const now = ctx.clock.now();
  return checkReservedCode(db, ctx, input, await reserveAttempt(db, input.purpose, input.subjectId, now), now);
}

interface CodeInput {
  purpose: OtpPurpose;
  subjectId: string;
  code: string;
  consumeWith?: ConsumeWith;
}

/**
 * The check after the attempt was counted, by reserveAttempt or in the caller's own statement
 * (attemptReservationWhere); `reserved` is undefined when no live code was there to count on.
 * A caller that took the client's guess slot itself (takeGuess) gives it back unless `wrongGuess`.
 */
export async function checkReservedCode(
  db: Kysely<GatewayDatabase>, ctx: GatewayContext, input: CodeInput, reserved: ReservedAttempt | undefined, now: Date,
): Promise<{ check: OtpCheck; wrongGuess: boolean }> {
  if (!reserved) {
    const dead = await latestOtp(db, input.purpose, input.subjectId); // why the UPDATE refused it
    const reason = !dead || dead.used_at !== null ? 'otp_invalid' : dead.expires_at.getTime() <= now.getTime() ? 'otp_expired' : 'otp_attempts_exceeded';
    return { check: { ok: false, reason }, wrongGuess: false };
  }
  const key = ctx.config.identity.otpKeys[reserved.key_id];
  // A code under a retired key can no longer be checked: it is simply wrong.
  const expected = key ? codeHash(key.expose(), input.purpose, input.subjectId, input.code) : Buffer.alloc(32);
  const right = key !== undefined && timingSafeEqual(expected, reserved.code_hash);
  if (right) {
    const consumed = input.consumeWith ? await input.consumeWith(otpConsumption(reserved.id, now)) : await consumeOtp(db, reserved.id, now);
    return { check: consumed ? { ok: true } : { ok: false, reason: 'otp_invalid' }, wrongGuess: false };
  }
  return { check: { ok: false, reason: reserved.attempts >= OTP_MAX_ATTEMPTS ? 'otp_attempts_exceeded' : 'otp_invalid' }, wrongGuess: true };
}
