// Each test file gets its own PostgreSQL database on the machine's server (DATABASE_URL, or
// 127.0.0.1:5432/test), dropped when the test ends. Never a mock: the real server, isolated.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database for one test and drops it at teardown; returns its URL. */
export async function freshDatabaseUrl(t: Teardown): Promise<string> {
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  t.teardown(() => admin((c) => c.query(`drop database if exists ${name} with (force)`)));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export const MIGRATIONS = {
  gateway: fileURLToPath(new URL('../../gateway/src/migrations', import.meta.url)),
  vault: fileURLToPath(new URL('../../vault/src/migrations', import.meta.url)),
  audit: fileURLToPath(new URL('../../audit-worker/src/migrations', import.meta.url)),
} as const;

export type Component = keyof typeof MIGRATIONS;

/**
 * A fresh database with the named components' migrations applied, and a kysely handle on it
 * (destroyed at teardown). Pass every component whose tables the test touches.
 */
export async function migratedDatabase<DB = any>(
  t: Teardown,
  components: Component[] = ['gateway', 'vault', 'audit'],
  poolSize = 20,
): Promise<{ url: string; db: Kysely<DB> }> {
  const url = await freshDatabaseUrl(t);
  const db = createDb<DB>(createPool(url, { max: poolSize, applicationName: 'test' }));
  t.teardown(() => db.destroy());
  for (const component of components) await migrateToLatest(db, component, MIGRATIONS[component]);
  return { url, db };
}
