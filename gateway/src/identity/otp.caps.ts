// SMS send caps against SMS pumping and code flooding (SP-5.1, practices "One-time codes"):
// a cool-down per phone and fixed-window counters (per phone / IP / number prefix per hour, and
// two daily budgets: one for anonymous codes, one for logged-in clients' codes, so a flood of
// verifications cannot stop payments), checked and counted in ONE Lua script so racing requests
// cannot overshoot.
// Windows are computed from the gateway clock (not Redis TTLs), so tests move time with ManualClock.
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { phonePrefix } from './phone.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// KEYS[1] cool-down key (or ''), KEYS[2..] counter keys.
// ARGV[1] now ms, ARGV[2] cool-down ms, then per counter: limit, window end ms.
// Returns 0 when allowed (and counted), else the milliseconds until a retry can succeed.
const SCRIPT = `
local now = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
if cooldown > 0 then
  local last = redis.call('GET', KEYS[1])
  if last and now - tonumber(last) < cooldown then return cooldown - (now - tonumber(last)) end
end
for i = 2, #KEYS do
  local limit = tonumber(ARGV[1 + (i - 1) * 2])
  local ends = tonumber(ARGV[2 + (i - 1) * 2])
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= limit then return math.max(ends - now, 1000) end
end
if cooldown > 0 then redis.call('SET', KEYS[1], now, 'PX', cooldown * 2) end
for i = 2, #KEYS do
  local ends = tonumber(ARGV[2 + (i - 1) * 2])
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], math.max(ends - now, 1000) + 60000)
end
return 0
`;

export type CapScope = 'visitor' | 'client';

interface Counter {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Counts one SMS against the caps, or throws 429 `rate_limited` with Retry-After. Visitor
 * scopes (verification, reset: anyone can type any number) get the cool-down and the per-phone,
 * per-IP and per-prefix caps; client scopes (password change, payment: the client's own
 * verified phone) get a per-phone cap. Each scope draws from its own daily budget.
 */
export async function chargeSmsCaps(ctx: GatewayContext, input: { scope: CapScope; phone: string; ip?: string }): Promise<void> {
  const caps = ctx.config.identity.otpCaps;
  const p = `${ctx.config.redisKeyPrefix}sms:`;
  const now = ctx.clock.now().getTime();
  const bucket = (windowMs: number) => Math.floor(now / windowMs);
  const counters: Counter[] = [];
  const add = (name: string, limit: number, windowMs: number) =>
    counters.push({ key: `${p}${name}:${bucket(windowMs)}`, limit, windowMs });
  if (input.scope === 'visitor') {
    add(`phone:${input.phone}`, caps.perPhonePerHour, HOUR);
    if (input.ip) add(`ip:${input.ip}`, caps.perIpPerHour, HOUR);
    add(`prefix:${phonePrefix(input.phone)}`, caps.perPrefixPerHour, HOUR);
  } else {
    add(`client-phone:${input.phone}`, caps.perClientPhonePerHour, HOUR);
  }
  if (input.scope === 'visitor') add('budget:visitor', caps.dailyBudgetVisitor, DAY);
  else add('budget:client', caps.dailyBudgetClient, DAY);
  const cooldownMs = input.scope === 'visitor' ? caps.cooldownSeconds * 1000 : 0;
  const keys = [`${p}cooldown:${input.phone}`, ...counters.map((c) => c.key)];
  const args = [now, cooldownMs, ...counters.flatMap((c) => [c.limit, (bucket(c.windowMs) + 1) * c.windowMs])];
  const wait = Number(await ctx.redis.eval(SCRIPT, keys.length, ...keys, ...args));
  if (wait > 0) {
    const seconds = Math.ceil(wait / 1000);
    throw new DomainError('rate_limited', `too many codes requested; retry in ${seconds} s`, { 'retry-after': String(seconds) });
  }
}
