// Audit-worker settings, read once at boot (README "Settings").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bool, bullmqPrefix, ConfigError, file, freeze, int, metricsListener, oneOf, port, secretFile, str, uriList, url, type Env } from '../../lib/config.js';
import { dataDir } from '../../lib/paths.js';
import { GATEWAY_SERVICE_IDENTITY, isDevelopmentCa } from '../../lib/pki.js';
import { loadPublicKeys, type TrustedKeys } from '../../lib/audit/chain.js';

export interface AuditWorkerConfig {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  migrateOnStart: boolean;
  redisUrl: string;
  auditQueue: string;
  /** BULLMQ_PREFIX (lib/config.ts bullmqPrefix). */
  bullmqPrefix: string;
  concurrency: number;
  batchSize: number;
  jobLockMs: number;
  signingKey: Buffer;
  checkpointIntervalMs: number;
  checkpointFile: string;
  health: { host: string; port: number };
  /** Prometheus scrape listener (plain HTTP, private address). */
  metrics: { host: string; port: number } | undefined;
  /** The private export listener (SP-20): mutual TLS, allow-listed client certificates (the gateway). */
  exportListener: { host: string; port: number; cert: Buffer; key: Buffer; ca: Buffer; allowedIdentities: string[] };
}

function exportListener(env: Env, data: string, mode: AuditWorkerConfig['env']): AuditWorkerConfig['exportListener'] {
  const pki = join(data, 'pki');
  const read = (name: string, fallback: string) => readFileSync(file(env, name, data, fallback));
  const host = str(env, 'AUDIT_EXPORT_HOST', '127.0.0.1');
  if (host === '0.0.0.0' || host === '::') throw new ConfigError('AUDIT_EXPORT_HOST', 'must be a private address, not every interface');
  const listener = {
    host,
    port: port(env, 'AUDIT_EXPORT_PORT', 8447),
    cert: read('AUDIT_EXPORT_TLS_CERT_FILE', join(pki, 'audit.crt')),
    key: read('AUDIT_EXPORT_TLS_KEY_FILE', join(pki, 'audit.key')),
    ca: read('INTERNAL_CA_FILE', join(pki, 'ca.crt')),
    allowedIdentities: uriList(env, 'AUDIT_EXPORT_ALLOWED_IDENTITIES', GATEWAY_SERVICE_IDENTITY),
  };
  if (mode === 'production' && isDevelopmentCa(listener.ca)) {
    throw new ConfigError('INTERNAL_CA_FILE', 'production refuses the generated development CA');
  }
  return listener;
}

export function loadAuditWorkerConfig(env: Env): Readonly<AuditWorkerConfig> {
  const mode = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const data = dataDir(env);
  return freeze({
    env: mode,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir: data,
    databaseUrl: url(env, 'AUDIT_DATABASE_URL', ['postgres:', 'postgresql:'], env.DATABASE_URL).toString(),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', mode !== 'production'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379').toString(),
    auditQueue: str(env, 'AUDIT_QUEUE', 'audit-events'),
    bullmqPrefix: bullmqPrefix(env),
    // Jobs in flight at once, their events stored AUDIT_BATCH_SIZE per transaction: the next
    // batch fills while the one before commits. A transaction costs about six round trips
    // whatever its size, so a large batch is what keeps a loaded host's waits off each event.
    concurrency: int(env, 'AUDIT_WORKER_CONCURRENCY', 1000, 1, 5000),
    batchSize: int(env, 'AUDIT_BATCH_SIZE', 2000, 1, 5000),
    // A killed worker's jobs return to the queue after this long (BullMQ lock and stall check).
    jobLockMs: int(env, 'AUDIT_JOB_LOCK_MS', 30_000, 1000, 600_000),
    signingKey: secretFile(env, 'AUDIT_SIGNING_KEY_FILE', data, join(data, 'keys', 'audit-signing.key')),
    checkpointIntervalMs: int(env, 'AUDIT_CHECKPOINT_INTERVAL_MS', 60_000, 100, 86_400_000),
    checkpointFile: str(env, 'AUDIT_CHECKPOINT_FILE', join(data, 'audit', 'checkpoints.jsonl')),
    health: { host: str(env, 'AUDIT_HEALTH_HOST', '127.0.0.1'), port: port(env, 'AUDIT_HEALTH_PORT', 8446) },
    metrics: metricsListener(env),
    exportListener: exportListener(env, data, mode),
  });
}

export interface AuditToolConfig {
  databaseUrl: string | undefined;
  /** AUDIT_PUBLIC_KEY_FILE: one PEM public key or several (the current one and those retired whose records are kept). */
  trustedKeys: TrustedKeys;
  publicKeyFile: string;
  signingKeyFile: string;
  checkpointFile: string;
}

function trustedKeys(env: Env, data: string): TrustedKeys {
  const pem = secretFile(env, 'AUDIT_PUBLIC_KEY_FILE', data, join(data, 'keys', 'audit-signing.pub'));
  try {
    return loadPublicKeys(pem);
  } catch (err) {
    throw new ConfigError('AUDIT_PUBLIC_KEY_FILE', `must hold one or more Ed25519 public keys, PEM (${(err as Error).message})`);
  }
}

/** Settings of `npm run audit:verify` and `audit:retention` (the database is needed unless verifying an export). */
export function loadAuditToolConfig(env: Env): Readonly<AuditToolConfig> {
  const data = dataDir(env);
  const databaseUrl = env.AUDIT_DATABASE_URL || env.DATABASE_URL
    ? url(env, 'AUDIT_DATABASE_URL', ['postgres:', 'postgresql:'], env.DATABASE_URL).toString()
    : undefined;
  return freeze({
    databaseUrl,
    trustedKeys: trustedKeys(env, data),
    publicKeyFile: file(env, 'AUDIT_PUBLIC_KEY_FILE', data, join(data, 'keys', 'audit-signing.pub')),
    signingKeyFile: str(env, 'AUDIT_SIGNING_KEY_FILE', join(data, 'keys', 'audit-signing.key')),
    checkpointFile: str(env, 'AUDIT_CHECKPOINT_FILE', join(data, 'audit', 'checkpoints.jsonl')),
  });
}
