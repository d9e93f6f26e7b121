// Redis connections for BullMQ and rate limits. BullMQ merely warns about eviction; an evicted
// job is a lost audit event, so we refuse to run unless the policy is noeviction.
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * `autoPipeline`: commands issued in the same event-loop turn leave in one socket write. For a
 * connection many concurrent requests share (the gateway's rate limits and code caps), where a
 * write per command was a profiled share of the payment path's CPU; commands and replies keep
 * their order, so each caller still gets its own reply.
 */
export function createRedis(url: string, opts: { forWorker?: boolean; lazy?: boolean; autoPipeline?: boolean } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: opts.forWorker ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: opts.lazy ?? false,
    enableAutoPipelining: opts.autoPipeline ?? false,
  });
}

export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is "${policy}"; audit delivery requires "noeviction"`);
  }
}

/** At boot: production refuses an evicting Redis; development and tests warn loudly and go on. */
export async function checkEvictionPolicy(redis: Redis, env: string, log: Logger): Promise<void> {
  try {
    await assertNoEviction(redis);
  } catch (err) {
    if (env === 'production') throw err;
    log.warn({ err }, 'AUDIT EVENTS MAY BE LOST: Redis eviction policy is unsafe (refused in production)');
  }
}
