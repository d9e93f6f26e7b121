// Redis for `npm start` on a machine that has only Node: REDIS_URL if set, else Redis at
// 127.0.0.1:6379, else a local redis-server on the PATH, else a clear message of what is missing.
import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';

export interface LocalService {
  url: string;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function ensureRedis(url: string | undefined, fallbackPort: number, say: (m: string) => void): Promise<LocalService> {
  const wanted = url ?? 'redis://127.0.0.1:6379';
  if (await answers(wanted)) return { url: wanted, stop: async () => undefined };
  if (url !== undefined) throw new Error(`Redis does not answer at REDIS_URL=${url}`);
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('Redis does not answer at redis://127.0.0.1:6379 and no redis-server is on the PATH: install Redis 7 or set REDIS_URL');
  }
  say(`starting redis-server on 127.0.0.1:${fallbackPort}`);
  const child = spawn('redis-server', [
    '--port', String(fallbackPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
  ], { stdio: 'ignore', detached: true });
  const local = `redis://127.0.0.1:${fallbackPort}`;
  for (let i = 0; i < 50 && !(await answers(local)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    url: local,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
