// `Authorization: Bearer sk_test_…|sk_live_…` on merchant routes (design.md). Routes opt in inside
// their own plugin with `app.addHook('onRequest', app.authenticateMerchant)`; `request.merchant`
// is then the key's merchant. Refusals are 401 problem+json with a stable code:
// api_key_invalid (malformed or unknown), api_key_revoked, api_key_expired.
//
// Attempts are limited per client address and per key, each in one Redis script (race-free):
// - per address: failed attempts are counted; once MERCHANT_AUTH_FAILURES_MAX failed in a window,
//   an attempt is refused with 429 before its key is looked up. A failure takes its place in the
//   count atomically, so of any number of concurrent wrong guesses exactly that many answer 401 and
//   the rest 429. A valid key is never counted: a merchant's backend may send any number of
//   concurrent requests from one address (holding a slot per request in flight refused them);
// - per key: at most MERCHANT_KEY_RATE_MAX authenticated requests per window (fixed window).
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../plugins/client-ip.js';
import { DomainError } from '../errors.js';
import { findKeyByHash, touchKey } from './merchants.repository.js';
import { secretKeyHash, secretKeyMode } from './secret-keys.js';

export interface AuthenticatedMerchant {
  id: string;
  name: string;
  providerId: string;
  returnOrigins: string[];
  keyId: string;
  livemode: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticateMerchant(request: FastifyRequest): Promise<void>;
  }
  interface FastifyRequest {
    merchant: AuthenticatedMerchant | null;
  }
}

// KEYS[1] per-address failures; ARGV[1] limit. Returns the window's time left when full, else 0.
const FULL = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return 0
`;

// KEYS[1] per-address failures; ARGV[1] window ms. Returns the count with this failure and the
// window's time left; the window restarts with each failure, so a guesser stays out while it guesses.
const FAILED = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {n, tonumber(ARGV[1])}
`;

// KEYS[1] per-key requests; ARGV[1] window ms.
const AUTHENTICATED = `
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {used, redis.call('PTTL', KEYS[1])}
`;

function rateLimited(ttlMs: number, what: string): DomainError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new DomainError('rate_limited', `${what}; retry in ${seconds} s`, { 'retry-after': String(seconds) });
}

const challenge = { 'www-authenticate': 'Bearer realm="merchant"' };

export default fp(async function merchantAuthPlugin(app) {
  const { ctx } = app;
  const limits = ctx.config.merchantAuth;
  app.decorateRequest('merchant', null);
  app.decorate('authenticateMerchant', async function authenticateMerchant(request: FastifyRequest): Promise<void> {
    const ip = clientIp(request) ?? 'unknown';
    const attemptsKey = `${ctx.config.redisKeyPrefix}mk-attempts:${ip}`;
    const full = await ctx.redis.eval(FULL, 1, attemptsKey, limits.failuresMax) as number;
    if (full !== 0) throw rateLimited(full, 'too many failed API key attempts from this address');
    const refuse = async (code: 'api_key_invalid' | 'api_key_revoked' | 'api_key_expired', detail: string): Promise<never> => {
      const [failures, ttl] = await ctx.redis.eval(FAILED, 1, attemptsKey, limits.windowMs) as [number, number];
      if (failures > limits.failuresMax) throw rateLimited(ttl, 'too many failed API key attempts from this address');
      throw new DomainError(code, detail, challenge);
    };

    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S{1,200})$/i.exec(header) : null;
    const secret = match?.[1];
    if (secret === undefined || !secretKeyMode(secret)) {
      return refuse('api_key_invalid', 'a secret key (Bearer sk_test_… or sk_live_…) is required');
    }
    const key = await findKeyByHash(ctx.db, secretKeyHash(secret));
    if (!key) return refuse('api_key_invalid', 'this secret key is not known');
    const now = ctx.clock.now();
    if (key.revoked_at) return refuse('api_key_revoked', 'this secret key was revoked');
    if (key.expires_at && key.expires_at.getTime() <= now.getTime()) return refuse('api_key_expired', 'this secret key has expired');

    const [used, windowLeft] = await ctx.redis.eval(AUTHENTICATED, 1, `${ctx.config.redisKeyPrefix}mk-rate:${key.id}`, limits.windowMs) as [number, number];
    if (used > limits.keyRateMax) throw rateLimited(windowLeft, 'too many requests with this key');
    request.merchant = {
      id: key.merchant_id, name: key.name, providerId: key.provider_id, returnOrigins: key.return_origins, keyId: key.id, livemode: key.livemode,
    };
    if (!key.last_used_at || now.getTime() - key.last_used_at.getTime() >= 60_000) await touchKey(ctx.db, key.id, now);
  });
}, { name: 'merchant-auth' });
