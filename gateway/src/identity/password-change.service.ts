// SP-8 / SP-10 password change: current + new password start a request that gets its OWN new
// code (bound to this request's id); only that code confirms it, and an older request's code
// is refused. The current password goes through the SP-11 lockout like a login. Confirming sets
// the new password and revokes the client's other sessions.
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { setPasswordHash } from './clients.repository.js';
import { evaluatePassword, refusal } from './login.service.js';
import { recordFailure, recordSuccess } from './login.repository.js';
import { deliverOtp, issueOtp, OTP_TTL_MS, verifyOtp } from './otp.service.js';
import { assertPasswordPolicy, normalisePassword } from './passwords.policy.js';
import { revokeClientSessions } from './sessions.repository.js';
import type { AuthenticatedClient } from './sessions.service.js';
import { codeSms } from './sms-texts.js';

export async function startPasswordChange(ctx: GatewayContext, origin: RequestOrigin, client: AuthenticatedClient, input: {
  currentPassword: string; newPassword: string;
}): Promise<{ passwordChangeId: string; expiresAt: Date }> {
  const actor = { type: 'client' as const, id: client.id };
  const targets = { clientId: client.id };
  assertPasswordPolicy(input.newPassword, client.phone);
  const ev = await evaluatePassword(ctx, client.phone, input.currentPassword);
  const now = ctx.clock.now();
  if (ev.kind !== 'evaluated') {
    await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'password_change.requested', outcome: 'refused', targets, details: { reason: ev.kind === 'locked' ? 'login_locked' : 'in_flight' } });
    throw refusal(ev, now);
  }
  if (!ev.right || ev.client?.id !== client.id) {
    const { lockedUntil } = await ctx.db.transaction().execute(async (trx) => {
      const result = await recordFailure(trx, client.phone, now);
      await recordAudit(trx, ctx.clock, origin, { actor, action: 'password_change.requested', outcome: 'failure', targets, details: { reason: 'password_incorrect' } });
      return result;
    });
    if (lockedUntil) throw refusal({ kind: 'locked', until: lockedUntil }, now);
    throw new DomainError('password_incorrect', 'the current password is wrong');
  }
  await recordSuccess(ctx.db, client.phone, now);
  const newHash = await ctx.passwords.hash(normalisePassword(input.newPassword));
  const started = await ctx.db.transaction().execute(async (trx) => {
    const passwordChangeId = uuidv7(now);
    await trx.insertInto('gateway.password_changes').values({
      id: passwordChangeId, client_id: client.id, session_id: client.sessionId, new_password_hash: newHash, created_at: now, expires_at: new Date(now.getTime() + OTP_TTL_MS), confirmed_at: null,
    }).execute();
    const otp = await issueOtp(trx, ctx, {
      purpose: 'password_change',
      subjectId: passwordChangeId,
      clientId: client.id,
      phone: client.phone,
      ...(origin.ip ? { ip: origin.ip } : {}),
      message: (code) => codeSms(client.language, 'password_change', code, OTP_TTL_MS / 60_000),
    });
    await recordAudit(trx, ctx.clock, origin, { actor, action: 'otp.sent', outcome: 'success', targets: { ...targets, passwordChangeId }, details: { purpose: 'password_change' } });
    return { passwordChangeId, otp };
  }).catch(async (err: unknown) => {
    if (err instanceof DomainError && err.code === 'rate_limited') {
      await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'password_change.requested', outcome: 'refused', targets, details: { reason: 'rate_limited' } });
    }
    throw err;
  });
  await deliverOtp(ctx, origin, started.otp, { actor, targets: { ...targets, passwordChangeId: started.passwordChangeId } });
  return { passwordChangeId: started.passwordChangeId, expiresAt: started.otp.expiresAt };
}

export async function confirmPasswordChange(ctx: GatewayContext, origin: RequestOrigin, client: AuthenticatedClient, id: string, code: string): Promise<void> {
  const actor = { type: 'client' as const, id: client.id };
  const targets = { clientId: client.id, passwordChangeId: id };
  const change = await ctx.db.selectFrom('gateway.password_changes').select(['id', 'new_password_hash', 'confirmed_at'])
    .where('id', '=', id).where('client_id', '=', client.id).executeTakeFirst();
  if (!change) throw new DomainError('not_found', 'no such password change');
  if (change.confirmed_at !== null) throw new DomainError('otp_invalid', 'the code is wrong or no longer valid');
  const check = await verifyOtp(ctx.db, ctx, { purpose: 'password_change', subjectId: id, clientId: client.id, code });
  if (!check.ok) {
    if (check.retryAfterSeconds !== undefined) {
      await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'otp.failed', outcome: 'refused', targets, details: { purpose: 'password_change', reason: 'daily_wrong_codes' } });
      throw new DomainError(check.reason, `too many wrong codes today; retry in ${check.retryAfterSeconds} s`, { 'retry-after': String(check.retryAfterSeconds) });
    }
    await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'otp.failed', outcome: 'failure', targets, details: { purpose: 'password_change', reason: check.reason } });
    throw new DomainError(check.reason, 'the code is wrong or no longer valid');
  }
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const done = await trx.updateTable('gateway.password_changes').set({ confirmed_at: now })
      .where('id', '=', id).where('confirmed_at', 'is', null).returning('id').executeTakeFirst();
    if (!done) throw new DomainError('otp_invalid', 'the code is wrong or no longer valid');
    await setPasswordHash(trx, client.id, change.new_password_hash, now, true);
    const revoked = await revokeClientSessions(trx, client.id, now, client.sessionId);
    await recordAudit(trx, ctx.clock, origin, { actor, action: 'password.changed', outcome: 'success', targets, details: { sessionsRevoked: revoked } });
  });
}
