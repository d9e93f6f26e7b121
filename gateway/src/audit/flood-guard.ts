// Refusals a flood can repeat without limit (rate-limited requests, refused staff certificates)
// are recorded once per source and minute: the first refusal of a window writes its event, the
// rest of that window are only logged. One Redis SET NX per refusal, so the guard holds across
// gateway instances and costs the outbox nothing under a flood. Redis unreachable: the refusal is
// recorded (a duplicate is harmless, a missing record is not).
import { createHash } from 'node:crypto';
import type { GatewayContext } from '../context.js';

export const FLOOD_WINDOW_MS = 60_000;

/** True when this refusal is the first of its source in the current window and must be recorded. */
export async function floodGuard(ctx: Pick<GatewayContext, 'redis' | 'config'>, source: string): Promise<boolean> {
  // Hashed: the source holds a certificate name or an address, which need not sit readable in Redis.
  const key = `${ctx.config.redisKeyPrefix}audit-flood:${createHash('sha256').update(source).digest('base64url')}`;
  try {
    return (await ctx.redis.set(key, '1', 'PX', FLOOD_WINDOW_MS, 'NX')) === 'OK';
  } catch {
    return true;
  }
}
