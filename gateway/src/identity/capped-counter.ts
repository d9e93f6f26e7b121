// A counter that never passes its cap under concurrency: taking a slot checks and counts in ONE
// Lua script, so of N racing takers at most `limit` succeed. Used for attempts that must be
// counted BEFORE the guess they allow is evaluated (per-client wrong codes, reset birth dates).
import type { Redis } from 'ioredis';

// KEYS[1] counter; ARGV[1] limit, ARGV[2] ttl ms. Returns the new count, or 0 when full.
const TAKE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`;

const GIVE_BACK = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/** Counts one slot; returns the count including it, or 0 when the cap was already reached. */
export async function takeSlot(redis: Redis, key: string, limit: number, ttlMs: number): Promise<number> {
  return Number(await redis.eval(TAKE, 1, key, limit, Math.max(1000, Math.ceil(ttlMs))));
}

/** Returns a slot whose attempt turned out not to be a wrong guess. */
export async function giveBackSlot(redis: Redis, key: string): Promise<void> {
  await redis.eval(GIVE_BACK, 1, key);
}

/** The current count (0 when none). */
export async function slotsTaken(redis: Redis, key: string): Promise<number> {
  return Number((await redis.get(key)) ?? 0);
}
