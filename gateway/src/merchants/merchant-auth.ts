// `Authorization: Bearer sk_test_…|sk_live_…` on merchant routes (design.md). Routes opt in inside
// their own plugin with `app.addHook('onRequest', app.authenticateMerchant)`; `request.merchant`
// is then the key's merchant. Refusals are 401 problem+json with a stable code:
// api_key_invalid (malformed or unknown), api_key_revoked, api_key_expired.
//
// Attempts are limited per client address and per key, each in one Redis script (race-free):
// - per address: an attempt takes a slot BEFORE its key is looked up and gives it back once the
//   key proved valid, so of any number of concurrent guesses at most MERCHANT_AUTH_FAILURES_MAX
//   reach the database in a window; the rest get 429;
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

// KEYS[1] per-address attempts; ARGV[1] limit, ARGV[2] window ms. Returns 0 when full, else the
// count; the window restarts with each attempt, so a guesser stays out while it keeps guessing.
const TAKE_ATTEMPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {n, 0}
`;

// KEYS[1] per-address attempts (given back), KEYS[2] per-key requests; ARGV[1] window ms.
const AUTHENTICATED = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
local used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return {used, redis.call('PTTL', KEYS[2])}
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
    const [taken, ttl] = await ctx.redis.eval(TAKE_ATTEMPT, 1, attemptsKey, limits.failuresMax, limits.windowMs) as [number, number];
    if (taken === 0) throw rateLimited(ttl, 'too many failed API key attempts from this address');

    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S{1,200})$/i.exec(header) : null;
    const secret = match?.[1];
    if (secret === undefined || !secretKeyMode(secret)) {
      throw new DomainError('api_key_invalid', 'a secret key (Bearer sk_test_… or sk_live_…) is required', challenge);
    }
    const key = await findKeyByHash(ctx.db, secretKeyHash(secret));
    if (!key) throw new DomainError('api_key_invalid', 'this secret key is not known', challenge);
    const now = ctx.clock.now();
    if (key.revoked_at) throw new DomainError('api_key_revoked', 'this secret key was revoked', challenge);
    if (key.expires_at && key.expires_at.getTime() <= now.getTime()) throw new DomainError('api_key_expired', 'this secret key has expired', challenge);

    const [used, windowLeft] = await ctx.redis.eval(AUTHENTICATED, 2, attemptsKey, `${ctx.config.redisKeyPrefix}mk-rate:${key.id}`, limits.windowMs) as [number, number];
    if (used > limits.keyRateMax) throw rateLimited(windowLeft, 'too many requests with this key');
    request.merchant = {
      id: key.merchant_id, name: key.name, providerId: key.provider_id, returnOrigins: key.return_origins, keyId: key.id, livemode: key.livemode,
    };
    if (!key.last_used_at || now.getTime() - key.last_used_at.getTime() >= 60_000) await touchKey(ctx.db, key.id, now);
  });
}, { name: 'merchant-auth' });
