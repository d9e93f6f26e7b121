// Audit-worker settings, read once at boot (README "Settings").
import { bool, freeze, int, oneOf, port, str, url, type Env } from '../../lib/config.js';
import { dataDir } from '../../lib/paths.js';

export interface AuditWorkerConfig {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  databaseUrl: string;
  migrateOnStart: boolean;
  redisUrl: string;
  auditQueue: string;
  concurrency: number;
  health: { host: string; port: number };
}

export function loadAuditWorkerConfig(env: Env): Readonly<AuditWorkerConfig> {
  const mode = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  return freeze({
    env: mode,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir: dataDir(env),
    databaseUrl: url(env, 'AUDIT_DATABASE_URL', ['postgres:', 'postgresql:'], env.DATABASE_URL).toString(),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', mode !== 'production'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379').toString(),
    auditQueue: str(env, 'AUDIT_QUEUE', 'audit-events'),
    concurrency: int(env, 'AUDIT_WORKER_CONCURRENCY', 1, 1, 64),
    health: { host: str(env, 'AUDIT_HEALTH_HOST', '127.0.0.1'), port: port(env, 'AUDIT_HEALTH_PORT', 8446) },
  });
}
