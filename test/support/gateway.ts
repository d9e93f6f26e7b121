// Builds the gateway's public and admin apps for a test: a fresh migrated database, a unique
// Redis prefix and audit queue, the test PKI, an injectable clock. Drive them with app.inject().
// The gateway connects as its runtime role pgw_gateway (deploy/postgres/roles.sql), like a deployment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import { ManualClock } from '../../lib/clock.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { createVaultClient, type VaultClient } from '../../lib/vault-client.js';
import { createAuditClient } from '../../lib/audit-client.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';
import type { GatewayContext } from '../../gateway/src/context.js';
import type { GatewayDatabase } from '../../gateway/src/database.js';
import { publicApp } from '../../gateway/src/app.js';
import { trustProxyOption } from '../../gateway/src/plugins/client-ip.js';
import { adminApp } from '../../gateway/src/admin/admin.app.js';
import { createSmsProvider } from '../../gateway/src/identity/sms.provider.js';
import { createPasswordHasher } from '../../gateway/src/identity/passwords.hasher.js';
import { createGatewayMetrics } from '../../gateway/src/metrics.js';
import { Registry } from 'prom-client';
import type pg from 'pg';
import { freshDatabaseUrl, migrateDatabase, migratedDatabaseAs, RUNTIME_ROLES, runtimePoolDb, runtimeUrl } from './database.js';
import { startProcess, type Started } from './processes.js';
import { testDataDir } from './pki.js';
import { testRedis, TEST_REDIS_URL, uniqueName } from './redis.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestGateway {
  app: FastifyInstance;
  admin: FastifyInstance;
  ctx: GatewayContext;
  /** The gateway's own handle (role pgw_gateway): schema `gateway` only. */
  db: Kysely<GatewayDatabase>;
  /** The superuser, for a test that deliberately plants or inspects outside the gateway's grants. */
  superuserDb: Kysely<any>;
  clock: ManualClock;
  /** The database, as the superuser (hand it to another component's helper); env.DATABASE_URL is the gateway's role. */
  databaseUrl: string;
  env: Record<string, string>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  vault?: VaultClient;
  clock?: ManualClock;
  /** A logger for both apps (e.g. at trace into a captured stream, for the SP-16 log scans); none by default. */
  log?: FastifyBaseLogger;
  /**
   * Build another instance of this gateway, as a second process behind the load balancer: the same
   * database, Redis prefix, audit queue, SMS outbox and clock, over its own pools and connections.
   */
  instanceOf?: TestGateway;
}

/** No in-flight limit, the event-loop signal off, the pool-wait ceiling at its maximum. */
export const NO_SHEDDING = { OVERLOAD_MAX_IN_FLIGHT: '0', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_MAX_POOL_WAITING: '100000' };

/** Fastify's logging options: the given logger with the production server's request ids, or none. */
export function fastifyLogging(log: FastifyBaseLogger | undefined) {
  return log ? { loggerInstance: log, genReqId: () => uuidv7(), requestIdHeader: false as const } : { logger: false as const };
}

/** The database of `shared` and its Redis server, over new connections (closed at teardown); the env carries its key prefix. */
function sharedStores(t: Teardown, shared: TestGateway) {
  const { db, pool } = runtimePoolDb<GatewayDatabase>(t, shared.databaseUrl, RUNTIME_ROLES.gateway, 20);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
  t.teardown(() => redis.disconnect());
  return { url: shared.databaseUrl, db, pool, superuserDb: shared.superuserDb, redis };
}

export async function buildTestGateway(t: Teardown, opts: TestGatewayOptions = {}): Promise<TestGateway> {
  if (opts.instanceOf) return buildInstance(t, { ...opts.instanceOf.env, ...opts.env }, sharedStores(t, opts.instanceOf), opts.vault, opts.clock ?? opts.instanceOf.clock, opts.log);
  // GATEWAY_DB_POOL sizes the test gateway's pool as it does the real one's (a pool-exhaustion test sets it small).
  const { url, roleUrl, db, pool, superuserDb } = await migratedDatabaseAs<GatewayDatabase>(
    t, RUNTIME_ROLES.gateway, ['gateway', 'vault', 'audit'], Number(opts.env?.GATEWAY_DB_POOL ?? 20));
  const { redis, prefix } = testRedis(t);
  // Each test gateway writes its SMS to its own outbox file (test/support/clients.ts reads it).
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-gw-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: testDataDir(),
    DATABASE_URL: roleUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    AUDIT_QUEUE: uniqueName('audit'),
    VAULT_URL: 'https://127.0.0.1:9',
    AUDIT_EXPORT_URL: 'https://127.0.0.1:9',
    SMS_OUTBOX_FILE: join(scratch, 'sms-outbox.jsonl'),
    // Light argon2id so the suite stays fast; production defaults are in identity.config.ts.
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
    PASSWORD_HASH_NICE: '0', // tests on a busy machine: do not starve the light test hashes
    // A test's clients share the gateway's event loop on a busy machine: no shedding unless a test
    // of it (gateway/test/overload/) sets its ceilings.
    ...NO_SHEDDING,
    ...opts.env,
  };
  return buildInstance(t, env, { url, db, pool, superuserDb, redis }, opts.vault, opts.clock ?? new ManualClock(), opts.log);
}

async function buildInstance(
  t: Teardown,
  env: Record<string, string>,
  stores: { url: string; db: Kysely<GatewayDatabase>; pool: pg.Pool; superuserDb: Kysely<any>; redis: Redis },
  vaultClient: VaultClient | undefined,
  clock: ManualClock,
  log: FastifyBaseLogger | undefined,
): Promise<TestGateway> {
  const { url, db, pool, superuserDb, redis } = stores;
  const config = loadGatewayConfig(env);
  // A vault client passed in belongs to its creator (startTestVault closes it); close only our own.
  const vault = vaultClient ?? createVaultClient({ ...config.vault, timeoutMs: 500 });
  if (!vaultClient) t.teardown(() => vault.close());
  const audit = createAuditClient(config.auditExport);
  t.teardown(() => audit.close());
  const ctx: GatewayContext = {
    config, db, pool, redis, vault, audit, clock,
    sms: createSmsProvider(config.identity.sms, clock),
    passwords: createPasswordHasher(config.identity.passwordHash),
    metrics: createGatewayMetrics(new Registry()),
  };

  const app = Fastify({ ...fastifyLogging(log), trustProxy: trustProxyOption(config.trustProxy) }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(publicApp, { ctx });
  await app.ready();
  const admin = Fastify(fastifyLogging(log)).withTypeProvider<TypeBoxTypeProvider>();
  await admin.register(adminApp, { ctx });
  await admin.ready();
  t.teardown(async () => {
    await Promise.all([app.close(), admin.close()]);
    await ctx.sms.close();
  });
  return { app, admin, ctx, db, superuserDb, clock, databaseUrl: url, env };
}

/**
 * The real gateway process (gateway/src/server.ts) on 127.0.0.1 with a fresh database (migrated
 * by the superuser; the process runs as pgw_gateway) and no reachable vault, for tests of what its
 * listeners show the network; `env` adds or overrides.
 */
export async function startGatewayProcess(t: Teardown, env: Record<string, string> = {}): Promise<Started> {
  const url = await freshDatabaseUrl(t);
  await migrateDatabase(url, ['gateway']);
  return startProcess(t, 'gateway/src/server.ts', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: testDataDir(),
    DATABASE_URL: runtimeUrl(url, RUNTIME_ROLES.gateway),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `${uniqueName('t')}:`,
    AUDIT_QUEUE: uniqueName('audit'),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    ADMIN_PORT: '0',
    VAULT_URL: 'https://127.0.0.1:9',
    AUDIT_EXPORT_URL: 'https://127.0.0.1:9',
    ...NO_SHEDDING,
    ...env,
  });
}
