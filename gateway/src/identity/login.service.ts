// SP-11 login: reserve the attempt (one upsert) BEFORE hashing, evaluate the password only when
// reserved, then record the outcome. During a lock nothing is evaluated: right and wrong both get
// 423 login_locked with Retry-After; attempts refused only because others are in flight get a
// retryable 429. Unknown phones take the same path against a dummy hash (no enumeration, no timing
// oracle). A blocked client (SP-13) with the right password gets client_blocked.
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import { findClientForLogin, setPasswordHash } from './clients.repository.js';
import { lockedUntil, recordFailure, recordSuccess, releaseAttempt, reserveAttempt } from './login.repository.js';
import { normalisePassword } from './passwords.policy.js';
import { openSession } from './sessions.service.js';

type Client = NonNullable<Awaited<ReturnType<typeof findClientForLogin>>>;

export type Evaluation =
  | { kind: 'locked'; until: Date }
  | { kind: 'busy' }
  | { kind: 'evaluated'; right: boolean; client: Client | null };

function retryAfter(until: Date, now: Date): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))) };
}

/** Reserves a slot and evaluates the password; the caller records the outcome with recordFailure/recordSuccess. */
export async function evaluatePassword(ctx: GatewayContext, phone: string, password: string): Promise<Evaluation> {
  const now = ctx.clock.now();
  if (!(await reserveAttempt(ctx.db, phone, now))) {
    const until = await lockedUntil(ctx.db, phone, now);
    return until ? { kind: 'locked', until } : { kind: 'busy' };
  }
  try {
    const client = (await findClientForLogin(ctx.db, phone)) ?? null;
    const candidate = normalisePassword(password);
    const right = client
      ? await ctx.passwords.verify(client.password_hash, candidate)
      : await ctx.passwords.verifyDummy(candidate);
    return { kind: 'evaluated', right, client };
  } catch (err) {
    await releaseAttempt(ctx.db, phone, ctx.clock.now());
    throw err;
  }
}

/** Throws the refusal for a login that was not evaluated. */
export function refusal(ev: Exclude<Evaluation, { kind: 'evaluated' }>, now: Date): DomainError {
  if (ev.kind === 'locked') {
    return new DomainError('login_locked', 'too many wrong passwords; the login is locked for 15 minutes', retryAfter(ev.until, now));
  }
  return new DomainError('rate_limited', 'another login attempt for this phone is in progress; retry', { 'retry-after': '1' });
}

export async function login(ctx: GatewayContext, origin: RequestOrigin, phone: string, password: string) {
  const ev = await evaluatePassword(ctx, phone, password);
  const now = ctx.clock.now();
  const actor = { type: 'visitor' as const };
  const targets = { phone, ...(ev.kind === 'evaluated' && ev.client ? { clientId: ev.client.id } : {}) };
  if (ev.kind !== 'evaluated') {
    await recordAudit(ctx.db, ctx.clock, origin, { actor, action: 'session.login', outcome: 'refused', targets, details: { reason: ev.kind === 'locked' ? 'login_locked' : 'in_flight' } });
    throw refusal(ev, now);
  }
  if (!ev.right || !ev.client) {
    const { lockedUntil: until } = await ctx.db.transaction().execute(async (trx) => {
      const result = await recordFailure(trx, phone, now);
      await recordAudit(trx, ctx.clock, origin, { actor, action: 'session.login', outcome: 'failure', targets, details: { reason: 'invalid_credentials', locked: result.lockedUntil !== null } });
      return result;
    });
    if (until) {
      ctx.metrics.loginLocked();
      throw refusal({ kind: 'locked', until }, now);
    }
    throw new DomainError('invalid_credentials', 'the phone number or password is wrong');
  }
  const client = ev.client;
  if (client.blocked_at !== null) {
    await ctx.db.transaction().execute(async (trx) => {
      await recordSuccess(trx, phone, now);
      await recordAudit(trx, ctx.clock, origin, { actor: { type: 'client', id: client.id }, action: 'session.login', outcome: 'refused', targets, details: { reason: 'client_blocked' } });
    });
    throw new DomainError('client_blocked', 'access to this account is blocked by the bank');
  }
  const session = await ctx.db.transaction().execute(async (trx) => {
    await recordSuccess(trx, phone, now);
    const opened = await openSession(trx, ctx, { clientId: client.id, ip: origin.ip ?? null, userAgent: origin.userAgent ?? null });
    await recordAudit(trx, ctx.clock, origin, { actor: { type: 'client', id: client.id }, action: 'session.login', outcome: 'success', targets: { ...targets, sessionId: opened.sessionId } });
    return opened;
  });
  if (ctx.passwords.needsRehash(client.password_hash)) {
    // Parameters were raised since this hash was made: upgrade it now that we hold the password.
    await setPasswordHash(ctx.db, client.id, await ctx.passwords.hash(normalisePassword(password)), now, false);
  }
  return { token: session.token, expiresAt: session.expiresAt };
}
