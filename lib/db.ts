// PostgreSQL access for every process: a kysely instance over a pg pool, and a migration runner
// that keeps each component's migrations and bookkeeping inside that component's own schema.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { FileMigrationProvider, Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import type { Logger } from './logger.js';

// int8 and numeric come back as strings by default; counts and money here are integers that fit.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  max?: number;
  applicationName: string;
}

// Named statements: PostgreSQL parses and plans a named statement once per connection, then only
// binds and executes it; on the joins and CTEs here planning costs more than executing (pgbench:
// 2-3x the rate of the unnamed form). Kysely sends every query as (text, values), so a query with
// parameters is named after its text. One without parameters (BEGIN, COMMIT, migrations that hold
// several statements) keeps the simple protocol. Past MAX_NAMED distinct texts new ones stay
// unnamed, so a query whose text varies (IN lists of any length) cannot grow the cache forever.
const MAX_NAMED = 1000;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `s_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    statementNames.set(text, name);
  }
  return name;
}

class PreparingClient extends pg.Client {
  override query(...args: unknown[]): any {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) && values.length > 0 ? statementName(text) : undefined;
    if (name === undefined) return (super.query as (...a: unknown[]) => unknown)(...args);
    return (super.query as (...a: unknown[]) => unknown)({ name, text, values }, callback);
  }
}

export function createPool(databaseUrl: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // A client losing its connection (a database restart or failover) must not crash the process.
  // pg-pool listens for that only while a client is idle; this listener also covers a client
  // checked out inside a transaction: that transaction fails, and the pool drops the client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function createDb<DB>(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/** Applies every pending migration of one component; throws (and the caller exits) on failure. */
export async function migrateToLatest(
  db: Kysely<any>,
  schema: string,
  migrationFolder: string,
  log?: Logger,
): Promise<void> {
  const provider = new FileMigrationProvider({ fs, path, migrationFolder });
  // A process running as its runtime role (deploy/postgres/grants.sql) may read the bookkeeping
  // but neither create a schema nor take the migration lock: with nothing pending it is done here,
  // and a pending migration fails with 42501 until an operator runs it as the superuser.
  if (await upToDate(db, schema, provider)) return;
  await db.schema.createSchema(schema).ifNotExists().execute();
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    log?.info({ migration: r.migrationName, status: r.status }, 'migration');
  }
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

async function upToDate(db: Kysely<any>, schema: string, provider: FileMigrationProvider): Promise<boolean> {
  const table = `${schema}.kysely_migration`;
  const { rows: [found] } = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db);
  if (!found?.t) return false;
  const { rows } = await sql<{ name: string }>`select name from ${sql.table(table)}`.execute(db);
  const applied = new Set(rows.map((r) => r.name));
  return Object.keys(await provider.getMigrations()).every((name) => applied.has(name));
}
