// Redis for tests: the machine's server, with a key prefix (and queue name) unique to the test,
// cleaned up at teardown.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the server is shared). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A Redis connection plus a unique prefix; every key under the prefix is deleted at teardown. */
export function testRedis(t: Teardown, opts: { forWorker?: boolean } = {}): { redis: Redis; prefix: string } {
  const prefix = `${uniqueName('t')}:`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: opts.forWorker ? null : 3 });
  t.teardown(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });
  return { redis, prefix };
}
