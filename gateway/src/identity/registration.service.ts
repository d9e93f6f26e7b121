// SP-5.2 registration and the forgotten-password reset. Both spend a verificationToken (the
// phone proven by an SMS code, SP-8) exactly once; every check runs before the token is spent,
// so a refused request changes nothing. A reset also asks for the birth date given at registration
// (a second factor besides the SMS code): each answer takes one of 3 tries on the token before it
// is compared, and the third wrong one ends the token. Minimum age: CLIENT_MINIMUM_AGE_YEARS (18 by default,
// the age of full legal capacity in Kazakhstan for opening a banking relationship alone).
import { timingSafeEqual } from 'node:crypto';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { giveBackSlot, takeSlot } from './capped-counter.js';
import { findClientForReset, insertClient, setPasswordHash } from './clients.repository.js';
import { assertPasswordPolicy, normalisePassword } from './passwords.policy.js';
import { revokeClientSessions } from './sessions.repository.js';
import { tokenHash } from './sessions.service.js';
import { consumeToken, peekToken, revokeToken, type VerificationPurpose } from './verification.repository.js';
import { VERIFICATION_TOKEN_TTL_MS } from './verification.service.js';

const MAX_AGE_YEARS = 120;
export const RESET_BIRTH_DATE_TRIES = 3;

/** A real calendar date, in the past, at least `minAge` and at most 120 years ago. */
export function assertBirthDate(value: string, today: Date, minAge: number): void {
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
    throw new DomainError('birth_date_invalid', 'birthDate is not a real calendar date');
  }
  const yearsAgo = (years: number) => Date.UTC(today.getUTCFullYear() - years, today.getUTCMonth(), today.getUTCDate());
  if (date.getTime() >= yearsAgo(0)) throw new DomainError('birth_date_invalid', 'birthDate must be in the past');
  if (date.getTime() > yearsAgo(minAge)) throw new DomainError('birth_date_invalid', `you must be at least ${minAge} years old`);
  if (date.getTime() < yearsAgo(MAX_AGE_YEARS)) throw new DomainError('birth_date_invalid', 'birthDate is too far in the past');
}

async function liveToken(ctx: GatewayContext, token: string, purpose: VerificationPurpose): Promise<{ id: string; phone: string; hash: Buffer }> {
  const hash = tokenHash(token);
  const row = await peekToken(ctx.db, hash, purpose, ctx.clock.now());
  if (!row) throw new DomainError('verification_invalid', 'the verification token is unknown, used or expired; verify the phone again');
  return { id: row.id, phone: row.phone, hash };
}

function sameDate(given: string, stored: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(stored, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function register(ctx: GatewayContext, origin: RequestOrigin, input: {
  verificationToken: string; name: string; birthDate: string; password: string;
}): Promise<{ clientId: string }> {
  const name = input.name.normalize('NFKC').trim();
  if (!name || /\p{Cc}/u.test(name)) throw new DomainError('validation_failed', 'name must be printable text');
  assertBirthDate(input.birthDate, ctx.clock.now(), ctx.config.identity.minimumAgeYears);
  const { phone, hash } = await liveToken(ctx, input.verificationToken, 'verification');
  assertPasswordPolicy(input.password, phone);
  const passwordHash = await ctx.passwords.hash(normalisePassword(input.password));
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const spent = await consumeToken(trx, hash, 'verification', now);
    if (!spent) throw new DomainError('verification_invalid', 'the verification token is unknown, used or expired; verify the phone again');
    const clientId = uuidv7(now);
    if (!(await insertClient(trx, { id: clientId, phone: spent.phone, language: spent.language, name, birthDate: input.birthDate, passwordHash, now }))) {
      throw new DomainError('phone_registered', 'this phone is already registered; log in or reset the password');
    }
    await recordAudit(trx, ctx.clock, origin, { actor: { type: 'visitor' }, action: 'client.registered', outcome: 'success', targets: { clientId, phone: spent.phone, verificationId: spent.id } });
    return { clientId };
  });
}

/**
 * Forgotten password: a verification of the login phone made for a reset, and the birth date
 * given at registration, set a new password and end every session.
 */
export async function resetPassword(ctx: GatewayContext, origin: RequestOrigin, input: {
  verificationToken: string; birthDate: string; newPassword: string;
}): Promise<void> {
  const { id: verificationId, phone, hash } = await liveToken(ctx, input.verificationToken, 'password_reset');
  const client = await findClientForReset(ctx.db, phone);
  if (!client) throw new DomainError('not_found', 'no client is registered with this phone; register instead');
  assertPasswordPolicy(input.newPassword, phone);
  const visitor = { type: 'visitor' as const }; // not yet proven to be the client
  const targets = { clientId: client.id, phone, verificationId };
  const triesKey = `${ctx.config.redisKeyPrefix}reset-birth-date:${verificationId}`;
  const tries = await takeSlot(ctx.redis, triesKey, RESET_BIRTH_DATE_TRIES, 2 * VERIFICATION_TOKEN_TTL_MS);
  if (tries === 0) {
    await recordAudit(ctx.db, ctx.clock, origin, { actor: visitor, action: 'password.reset', outcome: 'refused', targets, details: { reason: 'birth_date_tries_exceeded' } });
    throw new DomainError('verification_invalid', 'the verification token is unknown, used or expired; verify the phone again');
  }
  if (!sameDate(input.birthDate, client.birth_date)) {
    const revoked = tries >= RESET_BIRTH_DATE_TRIES;
    await ctx.db.transaction().execute(async (trx) => {
      if (revoked) await revokeToken(trx, verificationId, ctx.clock.now());
      await recordAudit(trx, ctx.clock, origin, { actor: visitor, action: 'password.reset', outcome: 'failure', targets, details: { reason: 'birth_date_mismatch', tokenRevoked: revoked } });
    });
    throw new DomainError('invalid_credentials', revoked
      ? 'the birth date is not the one given at registration; too many tries: verify the phone again'
      : 'the birth date is not the one given at registration');
  }
  // The right answer is no wrong try: a hashing failure (503) hands it back.
  const passwordHash = await ctx.passwords.hash(normalisePassword(input.newPassword)).catch(async (err: unknown) => {
    await giveBackSlot(ctx.redis, triesKey);
    throw err;
  });
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const spent = await consumeToken(trx, hash, 'password_reset', now);
    if (!spent) throw new DomainError('verification_invalid', 'the verification token is unknown, used or expired; verify the phone again');
    await setPasswordHash(trx, client.id, passwordHash, now, true);
    const revoked = await revokeClientSessions(trx, client.id, now);
    await recordAudit(trx, ctx.clock, origin, { actor: { type: 'client', id: client.id }, action: 'password.reset', outcome: 'success', targets: { clientId: client.id, phone, verificationId: spent.id }, details: { sessionsRevoked: revoked } });
  });
}
