// The real vault app in-process on a real mutual-TLS listener (127.0.0.1, random port), with its
// own fresh database unless given one, and its own test keys. `client` is the gateway's real vault
// client with the gateway certificate: pass it as buildTestGateway(t, { vault: client }). The vault
// connects as its runtime role pgw_vault (deploy/postgres/roles.sql), like a deployment.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Queue } from 'bullmq';
import type { Kysely } from 'kysely';
import { ManualClock, type Clock } from '../../lib/clock.js';
import { createDb, createPool } from '../../lib/db.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { mutualTlsServerOptions } from '../../lib/mtls.js';
import { createRedis } from '../../lib/redis.js';
import { startOutboxRelay, type AuditJob } from '../../lib/audit/outbox.js';
import { createVaultClient, type VaultClient } from '../../lib/vault-client.js';
import { loadVaultConfig } from '../../vault/src/config.js';
import { hardenTlsListener, vaultApp, VAULT_FASTIFY_OPTIONS } from '../../vault/src/app.js';
import { createVaultContext, type VaultContext } from '../../vault/src/context.js';
import { checkKekVersions } from '../../vault/src/kek-versions.js';
import { registerFingerprintVersions } from '../../vault/src/fingerprint-rotation.js';
import type { Processor } from '../../vault/src/processor/processor.js';
import { sandboxProcessor } from '../../vault/src/processor/sandbox.js';
import { fingerprinter, type FingerprintKeyRing } from '../../vault/src/crypto/fingerprint.js';
import { readFingerprintKeyFile, writeFingerprintKeyFile } from '../../vault/src/crypto/fingerprint-key-file.js';
import type { VaultDatabase } from '../../vault/src/storage/database.js';
import { freshDatabaseUrl, migrateDatabase, RUNTIME_ROLES, runtimeUrl, superuserUrl } from './database.js';
import { pkiFile, testDataDir } from './pki.js';
import { TEST_REDIS_URL, uniqueName } from './redis.js';
import { startProcess, type Started } from './processes.js';
import { createVaultMetrics } from '../../vault/src/metrics.js';
import { Registry } from 'prom-client';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestVaultOptions {
  /** Use this database (e.g. the gateway test's, any user); the vault migrations are applied to it. */
  databaseUrl?: string;
  clock?: Clock;
  /** Extra vault settings (VAULT_CARD_BRANDS …). */
  env?: Record<string, string>;
  /** Publish vault.audit_outbox to a unique BullMQ queue, as the real process does. */
  relay?: boolean;
  /**
   * A pino destination to capture the vault's log lines (e.g. to scan them for card data); they
   * are captured at `trace`, so a debug line is seen too.
   */
  logStream?: { write(line: string): void };
  /** Listen on this port (e.g. a stopped vault's, to bring it back where its clients look). */
  port?: number;
  /** A processor in place of the configured one (e.g. a stand-in for an acquirer adapter). */
  processor?: Processor;
}

export interface TestVault {
  url: string;
  client: VaultClient;
  ctx: VaultContext;
  /** The vault's own handle (role pgw_vault): schema `vault` only. */
  db: Kysely<VaultDatabase>;
  /** The superuser, for a test that deliberately plants or inspects outside the vault's grants. */
  superuserDb: Kysely<any>;
  clock: Clock;
  /** The database, as the superuser; env.DATABASE_URL is the vault's role. */
  databaseUrl: string;
  /** The settings this vault runs with: pass them back (with databaseUrl) to "restart" it. */
  env: Record<string, string>;
  kekFile: string;
  auditQueue: string;
  /** The vault's logger (its lines go to `logStream`). */
  log: Logger;
  stop(): Promise<void>;
}

/** A fresh KEK file and fingerprint key for one test vault (deleted at teardown). */
function testKeys(t: Teardown): { dir: string; kekFile: string; fingerprintFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-vault-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kekFile = join(dir, 'vault-kek.json');
  const fingerprintFile = join(dir, 'vault-fingerprint.key');
  writeFileSync(kekFile, JSON.stringify({ active: 1, keys: { 1: randomBytes(32).toString('base64') } }), { mode: 0o600 });
  writeFileSync(fingerprintFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  return { dir, kekFile, fingerprintFile };
}

export async function startTestVault(t: Teardown, opts: TestVaultOptions = {}): Promise<TestVault> {
  const databaseUrl = superuserUrl(opts.databaseUrl ?? await freshDatabaseUrl(t));
  await migrateDatabase(databaseUrl, ['vault']);
  const keys = testKeys(t);
  const auditQueue = uniqueName('vault-audit');
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: opts.logStream ? 'trace' : 'silent',
    DATA_DIR: testDataDir(),
    DATABASE_URL: runtimeUrl(databaseUrl, RUNTIME_ROLES.vault),
    REDIS_URL: TEST_REDIS_URL,
    AUDIT_QUEUE: auditQueue,
    VAULT_PORT: '0',
    VAULT_KEK_FILE: keys.kekFile,
    VAULT_FINGERPRINT_KEY_FILE: keys.fingerprintFile,
    // A vault process started with these settings runs on the real clock while this vault's cards
    // were stamped by the test's clock: its retention sweep would take them for old, unused cards.
    // Tests run the sweep themselves, on their clock (vault/test/sp16-retention.test.ts).
    VAULT_RETENTION_SWEEP_INTERVAL_MS: '0',
    ...opts.env,
  };
  const config = loadVaultConfig(env);
  const db = createDb<VaultDatabase>(createPool(config.databaseUrl, { max: 10, applicationName: 'test-vault', pipeline: true }));
  const superuserDb = createDb<any>(createPool(databaseUrl, { max: 2, applicationName: 'test-superuser' }));
  const clock = opts.clock ?? new ManualClock();
  const ctx = createVaultContext(config, db, clock, createVaultMetrics(new Registry()));
  if (opts.processor) ctx.processor = opts.processor;
  // The boot checks server.ts runs: a KEK that fails its key check, or a fingerprint key ring whose
  // active version was retired, stops this vault too.
  await checkKekVersions(db, ctx.keys).then(() => registerFingerprintVersions(db, config.fingerprintKeys, clock)).catch(async (err: unknown) => {
    await Promise.all([db.destroy(), superuserDb.destroy()]);
    throw err;
  });

  const log: Logger = createLogger('vault', config.logLevel, opts.logStream);
  const app = Fastify({
    ...VAULT_FASTIFY_OPTIONS,
    loggerInstance: log,
    https: mutualTlsServerOptions({ cert: pkiFile('vault.crt'), key: pkiFile('vault.key'), ca: pkiFile('ca.crt') }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  hardenTlsListener(app.server, ctx, log);
  await app.register(vaultApp, { ctx });
  await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const client = createVaultClient({
    url: new URL(url), ca: pkiFile('ca.crt'), cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key'),
    timeoutMs: 10_000, connections: 16,
  });

  let stopRelay: (() => Promise<void>) | undefined;
  if (opts.relay) {
    const connection = createRedis(TEST_REDIS_URL, { forWorker: true });
    const queue = new Queue<AuditJob>(auditQueue, { connection });
    const relay = startOutboxRelay({ db, source: 'vault', queue, log, intervalMs: 50 });
    stopRelay = async () => {
      await relay.stop();
      await queue.obliterate({ force: true });
      await queue.close();
      await connection.quit();
    };
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await client.close();
    await app.close();
    await stopRelay?.();
    ctx.cvv.clear();
    await Promise.all([db.destroy(), superuserDb.destroy()]);
  };
  t.teardown(stop);
  return { url, client, ctx, db, superuserDb, clock, databaseUrl, env, kekFile: config.kekFile, auditQueue, log, stop };
}

/**
 * What restarting `vault` after `npm run vault:rotate-fingerprint-key` changed its key file does:
 * the file is rewritten with `change(ring)`, the new ring's versions registered (the boot check,
 * which throws for a ring whose active version was retired), and the running vault fingerprints,
 * and its sandbox checks network transaction ids, with it. Returns the new ring.
 */
export async function changeFingerprintKeys(vault: TestVault, change: (ring: FingerprintKeyRing) => FingerprintKeyRing): Promise<FingerprintKeyRing> {
  const path = vault.env.VAULT_FINGERPRINT_KEY_FILE!;
  const ring = change(readFingerprintKeyFile(path));
  writeFingerprintKeyFile(path, ring);
  await registerFingerprintVersions(vault.db, ring, vault.clock);
  vault.ctx.fingerprint = fingerprinter(ring);
  if (vault.ctx.processor.name === 'sandbox') vault.ctx.processor = sandboxProcessor(ring);
  return ring;
}

/**
 * The real vault process (vault/src/server.ts) on 127.0.0.1 with a fresh database (migrated by
 * the superuser; the process runs as pgw_vault) and the development keys, for tests of what its
 * listener shows the network; `env` adds or overrides. `databaseUrl` is the database's, for a
 * test that plants a state in it.
 */
export async function startVaultProcess(t: Teardown, env: Record<string, string> = {}): Promise<Started & { databaseUrl: string }> {
  const url = await freshDatabaseUrl(t);
  await migrateDatabase(url, ['vault']);
  const started = await startProcess(t, 'vault/src/server.ts', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: testDataDir(),
    DATABASE_URL: runtimeUrl(url, RUNTIME_ROLES.vault),
    REDIS_URL: TEST_REDIS_URL,
    AUDIT_QUEUE: uniqueName('audit'),
    VAULT_PORT: '0',
    ...env,
  });
  return { ...started, databaseUrl: url };
}
