// SP-5.1 phone verification. Starting one answers identically whether or not the phone is
// registered (no account enumeration: the client table is not even read). Confirming with the
// code yields a single-use verificationToken (15 minutes) for registration or a password reset.
import { randomBytes } from 'node:crypto';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { phoneRegistered } from './clients.repository.js';
import { deliverOtp, issueOtp, OTP_TTL_MS, verifyOtp } from './otp.service.js';
import { normalisePhone } from './phone.js';
import { codeSms, DEFAULT_SMS_LANGUAGE, type SmsLanguage } from './sms-texts.js';
import { tokenHash } from './sessions.service.js';
import { confirmVerification, findVerification, insertVerification, type VerificationPurpose } from './verification.repository.js';

export const VERIFICATION_TOKEN_TTL_MS = 15 * 60_000;

export function requirePhone(input: string): string {
  const phone = normalisePhone(input);
  if (!phone) throw new DomainError('phone_invalid', 'give a Kazakhstan mobile number, e.g. +7 701 123 45 67');
  return phone;
}

/** `language` is the page's (or the app's): the SMS is written in it and, at registration, kept with the client. */
export async function startVerification(ctx: GatewayContext, origin: RequestOrigin, phoneInput: string, purpose: VerificationPurpose, language: SmsLanguage = DEFAULT_SMS_LANGUAGE) {
  const phone = requirePhone(phoneInput);
  const actor = { type: 'visitor' as const };
  try {
    const started = await ctx.db.transaction().execute(async (trx) => {
      const verificationId = uuidv7(ctx.clock.now());
      await insertVerification(trx, verificationId, phone, purpose, language, ctx.clock.now());
      const otp = await issueOtp(trx, ctx, {
        purpose,
        subjectId: verificationId,
        phone,
        ...(origin.ip ? { ip: origin.ip } : {}),
        message: (code) => codeSms(language, purpose, code, OTP_TTL_MS / 60_000),
      });
      await recordAudit(trx, ctx.clock, origin, { actor, action: 'otp.sent', outcome: 'success', targets: { phone, verificationId }, details: { purpose, language } });
      return { verificationId, otp };
    });
    await deliverOtp(ctx, origin, started.otp, { actor, targets: { phone, verificationId: started.verificationId } });
    return { verificationId: started.verificationId, expiresAt: started.otp.expiresAt };
  } catch (err) {
    if (err instanceof DomainError && err.code === 'rate_limited') {
      await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'otp.sent', outcome: 'refused', targets: { phone }, details: { purpose, reason: 'rate_limited' } });
    }
    throw err;
  }
}

export async function confirmPhone(ctx: GatewayContext, origin: RequestOrigin, verificationId: string, code: string) {
  const verification = await findVerification(ctx.db, verificationId);
  const actor = { type: 'visitor' as const };
  if (!verification || verification.confirmed_at !== null) {
    throw new DomainError('otp_invalid', 'the code is wrong or no longer valid');
  }
  const purpose = verification.purpose as VerificationPurpose;
  const check = await verifyOtp(ctx.db, ctx, { purpose, subjectId: verificationId, code });
  const targets = { phone: verification.phone, verificationId };
  if (!check.ok) {
    await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'otp.failed', outcome: 'failure', targets, details: { purpose, reason: check.reason } });
    throw new DomainError(check.reason, 'the code is wrong or no longer valid');
  }
  const token = randomBytes(32).toString('base64url');
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    if (!(await confirmVerification(trx, verificationId, tokenHash(token), now, new Date(now.getTime() + VERIFICATION_TOKEN_TTL_MS)))) {
      throw new DomainError('otp_invalid', 'the code is wrong or no longer valid');
    }
    const registered = await phoneRegistered(trx, verification.phone);
    await recordAudit(trx, ctx.clock, origin, { actor, action: 'verification.confirmed', outcome: 'success', targets, details: { registered } });
    return { verificationToken: token, registered, purpose };
  });
}
