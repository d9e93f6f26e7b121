// Builds the gateway's public and admin apps for a test: a fresh migrated database, a unique
// Redis prefix and audit queue, the test PKI, an injectable clock. Drive them with app.inject().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { ManualClock } from '../../lib/clock.js';
import { createVaultClient, type VaultClient } from '../../lib/vault-client.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';
import type { GatewayContext } from '../../gateway/src/context.js';
import type { GatewayDatabase } from '../../gateway/src/database.js';
import { publicApp } from '../../gateway/src/app.js';
import { adminApp } from '../../gateway/src/admin/admin.app.js';
import { createSmsProvider } from '../../gateway/src/identity/sms.provider.js';
import { createPasswordHasher } from '../../gateway/src/identity/passwords.hasher.js';
import { freshDatabaseUrl, migratedDatabase } from './database.js';
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
  db: Kysely<GatewayDatabase>;
  clock: ManualClock;
  databaseUrl: string;
  env: Record<string, string>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  vault?: VaultClient;
  clock?: ManualClock;
}

export async function buildTestGateway(t: Teardown, opts: TestGatewayOptions = {}): Promise<TestGateway> {
  // GATEWAY_DB_POOL sizes the test gateway's pool as it does the real one's (a pool-exhaustion test sets it small).
  const { url, db } = await migratedDatabase<GatewayDatabase>(t, ['gateway', 'vault', 'audit'], Number(opts.env?.GATEWAY_DB_POOL ?? 20));
  const { redis, prefix } = testRedis(t);
  // Each test gateway writes its SMS to its own outbox file (test/support/clients.ts reads it).
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-gw-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: testDataDir(),
    DATABASE_URL: url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    AUDIT_QUEUE: uniqueName('audit'),
    VAULT_URL: 'https://127.0.0.1:9',
    SMS_OUTBOX_FILE: join(scratch, 'sms-outbox.jsonl'),
    // Light argon2id so the suite stays fast; production defaults are in identity.config.ts.
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
    PASSWORD_HASH_NICE: '0', // tests on a busy machine: do not starve the light test hashes
    ...opts.env,
  };
  const config = loadGatewayConfig(env);
  // A vault client passed in belongs to its creator (startTestVault closes it); close only our own.
  const vault = opts.vault ?? createVaultClient({ ...config.vault, timeoutMs: 500 });
  if (!opts.vault) t.teardown(() => vault.close());
  const clock = opts.clock ?? new ManualClock();
  const ctx: GatewayContext = {
    config, db, redis, vault, clock,
    sms: createSmsProvider(config.identity.sms, clock),
    passwords: createPasswordHasher(config.identity.passwordHash),
  };

  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(publicApp, { ctx });
  await app.ready();
  const admin = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  await admin.register(adminApp, { ctx });
  await admin.ready();
  t.teardown(async () => {
    await Promise.all([app.close(), admin.close()]);
    await ctx.sms.close();
  });
  return { app, admin, ctx, db, clock, databaseUrl: url, env };
}

/**
 * The real gateway process (gateway/src/server.ts) on 127.0.0.1 with a fresh database and no
 * reachable vault, for tests of what its listeners show the network; `env` adds or overrides.
 */
export async function startGatewayProcess(t: Teardown, env: Record<string, string> = {}): Promise<Started> {
  return startProcess(t, 'gateway/src/server.ts', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: testDataDir(),
    DATABASE_URL: await freshDatabaseUrl(t),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `${uniqueName('t')}:`,
    AUDIT_QUEUE: uniqueName('audit'),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    ADMIN_PORT: '0',
    VAULT_URL: 'https://127.0.0.1:9',
    ...env,
  });
}
