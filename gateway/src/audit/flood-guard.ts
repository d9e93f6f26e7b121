// Refusals a flood can repeat without limit (rate-limited requests, shed requests, refused staff
// certificates) are recorded once per source and minute: the first refusal of a window writes its
// event, the rest of that window are only logged. One Redis script per source and window and
// process, so the guard holds across gateway instances and costs the outbox nothing under a flood;
// each process remembers until when a source's window runs, so the repeats of a flood cost no
// round trip at all (measured at 3x capacity: the round trip per shed answer was a fifth of the
// gateway's time, on the answers meant to spare it). Redis unreachable: the refusal is recorded (a
// duplicate is harmless, a missing record is not).
import { createHash } from 'node:crypto';
import type { GatewayContext } from '../context.js';

export const FLOOD_WINDOW_MS = 60_000;

// Sets the window's key if it is free (-1: record this one); otherwise its remaining milliseconds.
const OPEN_WINDOW = `if redis.call('set', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return -1 end
return redis.call('pttl', KEYS[1])`;

// Sources remembered at once per process; past it a source costs its round trip again.
const REMEMBERED_MAX = 10_000;

// Source (with its key prefix) -> performance.now() at which its window ends.
const windowEnds = new Map<string, number>();

function remember(source: string, ms: number): void {
  const now = performance.now();
  if (windowEnds.size >= REMEMBERED_MAX) {
    for (const [k, end] of windowEnds) if (end <= now) windowEnds.delete(k);
    if (windowEnds.size >= REMEMBERED_MAX) return;
  }
  windowEnds.set(source, now + ms);
}

/** True when this refusal is the first of its source in the current window and must be recorded. */
export async function floodGuard(ctx: Pick<GatewayContext, 'redis' | 'config'>, source: string): Promise<boolean> {
  const known = `${ctx.config.redisKeyPrefix}${source}`;
  const end = windowEnds.get(known);
  if (end !== undefined) {
    if (end > performance.now()) return false;
    windowEnds.delete(known);
  }
  // Hashed: the source holds a certificate name or an address, which need not sit readable in Redis.
  const key = `${ctx.config.redisKeyPrefix}audit-flood:${createHash('sha256').update(source).digest('base64url')}`;
  try {
    const left = Number(await ctx.redis.eval(OPEN_WINDOW, 1, key, FLOOD_WINDOW_MS));
    remember(known, left < 0 ? FLOOD_WINDOW_MS : left);
    return left < 0;
  } catch {
    return true;
  }
}
