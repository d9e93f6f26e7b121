// PostgreSQL access for every process: a kysely instance over a pg pool, and a migration runner
// that keeps each component's migrations and bookkeeping inside that component's own schema.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { CompiledQuery, FileMigrationProvider, Kysely, Migrator, PostgresDialect, sql, type QueryResult, type RawBuilder } from 'kysely';
import type { Logger } from './logger.js';

// int8 and numeric come back as strings by default; counts and money here are integers that fit.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  max?: number;
  applicationName: string;
  /**
   * pg's pipeline mode: a client writes a query without waiting for the one before it to be
   * answered. Kysely still awaits each of its queries, so only pipelinedTransaction() below sends
   * several at once; cursors and query streams are refused on such a pool.
   */
  pipeline?: boolean;
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
    ...(options.pipeline ? { pipeline: true } : {}),
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

export interface PipelinedTransaction {
  /** Runs one statement of the transaction (the first one carries BEGIN in its round trip). */
  query<R>(query: RawBuilder<R>): Promise<QueryResult<R>>;
  /** Runs the transaction's last statement with COMMIT in the same round trip. */
  commit<R>(query: RawBuilder<R>): Promise<QueryResult<R>>;
}

/**
 * A transaction whose BEGIN travels with its first statement and whose COMMIT travels with its
 * last: on a pipelined pool (PoolOptions.pipeline) two round trips where kysely's transaction()
 * takes four, on any other pool the same statements one after another. A body that returns
 * without calling commit() is committed; one that throws is rolled back. A statement that fails
 * in commit()'s round trip fails the commit behind it too (PostgreSQL answers ROLLBACK), so
 * nothing of the transaction is kept.
 */
export async function pipelinedTransaction<DB, T>(db: Kysely<DB>, body: (tx: PipelinedTransaction) => Promise<T>): Promise<T> {
  // getExecutor() is kysely's own way to one pooled connection; its transaction() would await BEGIN.
  return db.getExecutor().provideConnection(async (connection) => {
    let state = 'idle' as 'idle' | 'open' | 'ended';
    const run = async <R>(query: RawBuilder<R>, commit: boolean): Promise<QueryResult<R>> => {
      const sent: Promise<QueryResult<unknown>>[] = [];
      if (state === 'idle') sent.push(connection.executeQuery(CompiledQuery.raw('begin')));
      state = 'open';
      const index = sent.push(connection.executeQuery(query.compile(db))) - 1;
      if (commit) {
        sent.push(connection.executeQuery(CompiledQuery.raw('commit')));
        state = 'ended';
      }
      // Every query of the round trip is awaited, so none is left answering into the next one.
      const settled = await Promise.allSettled(sent);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return (settled[index] as PromiseFulfilledResult<QueryResult<R>>).value;
    };
    try {
      const result = await body({ query: (q) => run(q, false), commit: (q) => run(q, true) });
      if (state === 'open') {
        state = 'ended';
        await connection.executeQuery(CompiledQuery.raw('commit'));
      }
      return result;
    } catch (err) {
      if (state === 'open') await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
      throw err;
    }
  });
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
