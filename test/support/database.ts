// Each test file gets its own PostgreSQL database on the machine's server (DATABASE_URL, or
// 127.0.0.1:5432/test), dropped when the test ends. Never a mock: the real server, isolated.
// Migrations run as the superuser, then deploy/postgres/grants.sql hands the schemas to their
// owner roles; the processes the support helpers build connect as their runtime roles
// (deploy/postgres/roles.sql), so a missing grant fails the tests as it would a deployment.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { createDb, createPool } from '../../lib/db.js';
import { applyRoles, migrateWithGrants, MIGRATION_FOLDERS, RUNTIME_ROLES, urlAs, type Component, type RuntimeRole } from '../../lib/db-roles.js';

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

export const MIGRATIONS = MIGRATION_FOLDERS;
export type { Component };
export { RUNTIME_ROLES };

let rolesReady: Promise<void> | undefined;

/** Applies deploy/postgres/roles.sql once per test process (roles are cluster-wide; the file is race-safe). */
export function ensureRoles(): Promise<void> {
  rolesReady ??= (async () => {
    const db = createDb<any>(createPool(ADMIN_URL, { max: 1, applicationName: 'test-roles' }));
    try {
      await applyRoles(db);
    } finally {
      await db.destroy();
    }
  })();
  return rolesReady;
}

/** `url` (any user) as the superuser of the test server: for migrations and deliberate inspection. */
export function superuserUrl(url: string): string {
  const u = new URL(url);
  const admin = new URL(ADMIN_URL);
  u.username = admin.username;
  u.password = admin.password;
  u.searchParams.delete('options');
  return u.toString();
}

/** `url` (any user) logged in as a runtime role (trust auth: no password). */
export function runtimeUrl(url: string, role: RuntimeRole): string {
  return urlAs(url, role);
}

/** A kysely handle on `url` as `role` and the pool under it (read by load shedding), destroyed at teardown. */
export function runtimePoolDb<DB = any>(t: Teardown, url: string, role: RuntimeRole, poolSize = 10): { db: Kysely<DB>; pool: pg.Pool } {
  const pool = createPool(runtimeUrl(url, role), { max: poolSize, applicationName: `test-${role}` });
  const db = createDb<DB>(pool);
  t.teardown(() => db.destroy());
  return { db, pool };
}

/** A kysely handle on `url` as `role`, destroyed at teardown. */
export function runtimeDb<DB = any>(t: Teardown, url: string, role: RuntimeRole, poolSize = 10): Kysely<DB> {
  return runtimePoolDb<DB>(t, url, role, poolSize).db;
}

/** Migrates `components` of the database at `url` as the superuser and applies the grants. */
export async function migrateDatabase(url: string, components: readonly Component[]): Promise<void> {
  await ensureRoles();
  const db = createDb<any>(createPool(superuserUrl(url), { max: 2, applicationName: 'test-migrate' }));
  try {
    await migrateWithGrants(db, components);
  } finally {
    await db.destroy();
  }
}

/**
 * A fresh database with the named components' migrations applied and the deployment's grants,
 * and a superuser kysely handle on it (destroyed at teardown), for tests that call services
 * directly or inspect any schema. Pass every component whose tables the test touches.
 */
export async function migratedDatabase<DB = any>(
  t: Teardown,
  components: Component[] = ['gateway', 'vault', 'audit'],
  poolSize = 20,
): Promise<{ url: string; db: Kysely<DB> }> {
  const url = await freshDatabaseUrl(t);
  await migrateDatabase(url, components);
  const db = createDb<DB>(createPool(url, { max: poolSize, applicationName: 'test' }));
  t.teardown(() => db.destroy());
  return { url, db };
}

/**
 * migratedDatabase with a process's view: `db` connects as `role` (what the process itself would
 * use), `superuserDb` only for a test that deliberately looks at another schema.
 */
export async function migratedDatabaseAs<DB = any>(
  t: Teardown,
  role: RuntimeRole,
  components: Component[] = ['gateway', 'vault', 'audit'],
  poolSize = 20,
): Promise<{ url: string; roleUrl: string; db: Kysely<DB>; pool: pg.Pool; superuserDb: Kysely<DB> }> {
  const { url, db: superuserDb } = await migratedDatabase<DB>(t, components, 4);
  return { url, roleUrl: runtimeUrl(url, role), ...runtimePoolDb<DB>(t, url, role, poolSize), superuserDb };
}

/**
 * Runs `write` in a transaction left open until `commit()` is called; `written` resolves once
 * `write` is done, `done` once the transaction has committed. For a test of what another session
 * does while a write is uncommitted.
 */
export function uncommitted(db: Kysely<any>, write: (trx: Kysely<any>) => Promise<unknown>) {
  let commit!: () => void;
  const committed = new Promise<void>((resolve) => { commit = resolve; });
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => { wrote = resolve; });
  const done = db.transaction().execute(async (trx) => {
    await write(trx);
    wrote();
    await committed;
  });
  return { written, commit, done };
}

/** Resolves once a session named `applicationName` waits for a lock, or `exited()` says it has ended. */
export async function waitUntilBlocked(db: Kysely<any>, applicationName: string, exited: () => boolean): Promise<void> {
  const blocked = async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = ${applicationName} and wait_event_type = 'Lock'`.execute(db)).rows[0]!.n > 0;
  // Back-to-back queries, no timer: each one is a round trip to PostgreSQL.
  while (!exited() && !(await blocked()));
}
