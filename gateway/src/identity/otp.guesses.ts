// The per-client daily cap on wrong one-time codes (SP-5, SP-9, SP-12): each code allows 3 tries,
// but a client could otherwise start payments or password changes forever and guess 3 times on
// each. A slot is taken before a code is compared and given back only when the code turned out
// right (or could not be checked), so racing wrong guesses never exceed the cap. The window is a
// fixed day of the gateway clock (ManualClock in tests); the count lives in Redis, outside any
// transaction, so a wrong guess counts whatever the caller's transaction does afterwards.
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { giveBackSlot, slotsTaken, takeSlot } from './capped-counter.js';

const DAY = 24 * 3_600_000;

interface GuessWindow {
  key: string;
  retryAfterSeconds: number;
}

function dayWindow(ctx: GatewayContext, clientId: string): GuessWindow & { ttlMs: number } {
  const now = ctx.clock.now().getTime();
  const day = Math.floor(now / DAY);
  const left = (day + 1) * DAY - now;
  return { key: `${ctx.config.redisKeyPrefix}otp-wrong:${clientId}:${day}`, retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)), ttlMs: left + 60_000 };
}

/** Takes a guess for this client, or returns the window to wait out when today's cap is reached. */
export async function takeGuess(ctx: GatewayContext, clientId: string): Promise<{ ok: true; key: string } | { ok: false; retryAfterSeconds: number }> {
  const w = dayWindow(ctx, clientId);
  const taken = await takeSlot(ctx.redis, w.key, ctx.config.identity.otpWrongPerClientDay, w.ttlMs);
  return taken > 0 ? { ok: true, key: w.key } : { ok: false, retryAfterSeconds: w.retryAfterSeconds };
}

export async function giveBackGuess(ctx: GatewayContext, key: string): Promise<void> {
  await giveBackSlot(ctx.redis, key);
}

/** Refuses to start a request whose code the client could not enter any more today. */
export async function assertGuessesLeft(ctx: GatewayContext, clientId: string): Promise<void> {
  const w = dayWindow(ctx, clientId);
  if ((await slotsTaken(ctx.redis, w.key)) >= ctx.config.identity.otpWrongPerClientDay) {
    throw new DomainError('rate_limited', `too many wrong codes today; retry in ${w.retryAfterSeconds} s`, { 'retry-after': String(w.retryAfterSeconds) });
  }
}
