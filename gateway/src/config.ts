// Gateway settings, read once at boot (README "Settings"). Defaults suit `npm start` on one machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bool, bullmqPrefix, ConfigError, file, freeze, int, ipRanges, list, metricsListener, oneOf, port, revocationList, str, url, type Env } from '../../lib/config.js';
import { dataDir } from '../../lib/paths.js';
import { isDevelopmentCa } from '../../lib/pki.js';
import { loadIdentityConfig, type IdentityConfig } from './identity/identity.config.js';
import { loadPaymentsConfig, type PaymentsConfig } from './payments/payments.config.js';
import { loadWebhooksConfig, type WebhooksConfig } from './webhooks/webhooks.config.js';

export interface GatewayConfig {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  publicListener: { host: string; port: number; cert: Buffer; key: Buffer; allowedHosts: string[] };
  adminListener: { host: string; port: number; cert: Buffer; key: Buffer; ca: Buffer; crl: Buffer | undefined; allowedIdentities: string[] };
  vault: { url: URL; ca: Buffer; cert: Buffer; key: Buffer; timeoutMs: number; connections: number };
  /** Prometheus scrape listener (plain HTTP, private address). */
  metrics: { host: string; port: number } | undefined;
  databaseUrl: string;
  dbPoolSize: number;
  migrateOnStart: boolean;
  redisUrl: string;
  redisKeyPrefix: string;
  auditQueue: string;
  /** BULLMQ_PREFIX (lib/config.ts bullmqPrefix). */
  bullmqPrefix: string;
  rateLimit: { max: number; windowMs: number };
  /** Load shedding on the public listener (plugins/overload.ts): past either ceiling it answers 503. */
  overload: { maxInFlight: number; maxEventLoopDelayMs: number; maxPoolWaiting: number; sampleIntervalMs: number; retryAfterS: number };
  /** Merchant API keys: failed attempts per client address, requests per key, in one window. */
  merchantAuth: { failuresMax: number; keyRateMax: number; windowMs: number };
  /** Where customers reach the hosted checkout: a session's `url` is `${publicUrl}/checkout/{id}`. */
  publicUrl: string;
  /** Addresses and CIDR ranges of the bank's proxies in front of the public listener; empty: none. */
  trustProxy: string[];
  identity: IdentityConfig;
  payments: PaymentsConfig;
  webhooks: WebhooksConfig;
  /** The audit-worker's private export listener (SP-20), reached over mutual TLS. */
  auditExport: { url: URL; ca: Buffer; cert: Buffer; key: Buffer; timeoutMs: number };
}

// SP-11: X-Forwarded-For is written by whoever connects, so only the bank's own proxies are
// believed, named by address. `true` would believe every peer, and Fastify cannot check the
// immediate peer under a hop count: both are refused in every environment.
function trustedProxies(env: Env): string[] {
  const value = (env.TRUST_PROXY ?? '').trim();
  if (value === '' || value === 'false' || value === '0') return [];
  if (value === 'true' || /^\d+$/.test(value)) {
    throw new ConfigError('TRUST_PROXY', `must list the proxies' IP addresses or CIDR ranges, or be false (got "${value}": any client could choose its own IP)`);
  }
  return ipRanges(env, 'TRUST_PROXY');
}

// Requests admitted at once per PostgreSQL connection by default (OVERLOAD_MAX_IN_FLIGHT): enough
// that every connection stays busy while requests do their work between round trips (an audited
// request makes about two), few enough that one admitted at the limit waits behind a bounded
// amount of work whatever the offered load (issue 18).
export const IN_FLIGHT_PER_CONNECTION = 2;

export function loadGatewayConfig(env: Env): Readonly<GatewayConfig> {
  const data = dataDir(env);
  const pki = join(data, 'pki');
  const read = (name: string, fallback: string) => readFileSync(file(env, name, data, fallback));
  const mode = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']).toString();
  const vaultUrl = url(env, 'VAULT_URL', ['https:'], 'https://127.0.0.1:8444');
  const dbPoolSize = int(env, 'GATEWAY_DB_POOL', 20, 1, 500);
  const config: GatewayConfig = {
    env: mode,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir: data,
    publicListener: {
      host: str(env, 'GATEWAY_HOST', '0.0.0.0'),
      port: port(env, 'GATEWAY_PORT', 8443),
      cert: read('TLS_CERT_FILE', join(pki, 'public.crt')),
      key: read('TLS_KEY_FILE', join(pki, 'public.key')),
      allowedHosts: list(env, 'GATEWAY_ALLOWED_HOSTS', 'localhost,127.0.0.1').map((h) => h.toLowerCase()),
    },
    adminListener: {
      host: str(env, 'ADMIN_HOST', '127.0.0.1'),
      port: port(env, 'ADMIN_PORT', 8445),
      cert: read('ADMIN_TLS_CERT_FILE', join(pki, 'public.crt')),
      key: read('ADMIN_TLS_KEY_FILE', join(pki, 'public.key')),
      ca: read('INTERNAL_CA_FILE', join(pki, 'ca.crt')),
      crl: revocationList(env, 'INTERNAL_CRL_FILE', data),
      allowedIdentities: list(env, 'ADMIN_ALLOWED_IDENTITIES', 'admin'),
    },
    vault: {
      url: vaultUrl,
      ca: read('INTERNAL_CA_FILE', join(pki, 'ca.crt')),
      cert: read('VAULT_CLIENT_CERT_FILE', join(pki, 'gateway.crt')),
      key: read('VAULT_CLIENT_KEY_FILE', join(pki, 'gateway.key')),
      timeoutMs: int(env, 'VAULT_TIMEOUT_MS', 5_000, 100, 60_000),
      connections: int(env, 'VAULT_CONNECTIONS', 16, 1, 1024),
    },
    metrics: metricsListener(env),
    databaseUrl,
    dbPoolSize,
    migrateOnStart: bool(env, 'MIGRATE_ON_START', mode !== 'production'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379').toString(),
    redisKeyPrefix: str(env, 'REDIS_KEY_PREFIX', 'pgw:'),
    auditQueue: str(env, 'AUDIT_QUEUE', 'audit-events'),
    bullmqPrefix: bullmqPrefix(env),
    rateLimit: {
      max: int(env, 'RATE_LIMIT_MAX', 300, 1, 1_000_000),
      windowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1_000, 86_400_000),
    },
    overload: {
      // 0 turns the limit off (test gateways, whose own clients flood them on purpose).
      maxInFlight: int(env, 'OVERLOAD_MAX_IN_FLIGHT', IN_FLIGHT_PER_CONNECTION * dbPoolSize, 0, 100_000),
      // 0 turns the event-loop signal off (test gateways, whose clients share their loop).
      maxEventLoopDelayMs: int(env, 'OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 200, 0, 60_000),
      maxPoolWaiting: int(env, 'OVERLOAD_MAX_POOL_WAITING', 40, 0, 100_000),
      // under-pressure reads the delay histogram at a 10 ms resolution: a shorter interval can hold
      // no sample, which it counts as an infinite delay.
      sampleIntervalMs: int(env, 'OVERLOAD_SAMPLE_INTERVAL_MS', 100, 50, 10_000),
      retryAfterS: int(env, 'OVERLOAD_RETRY_AFTER_S', 5, 1, 3_600),
    },
    merchantAuth: {
      failuresMax: int(env, 'MERCHANT_AUTH_FAILURES_MAX', 20, 1, 100_000),
      keyRateMax: int(env, 'MERCHANT_KEY_RATE_MAX', 6_000, 1, 10_000_000),
      windowMs: int(env, 'MERCHANT_AUTH_WINDOW_MS', 60_000, 1_000, 86_400_000),
    },
    publicUrl: url(env, 'PUBLIC_URL', ['https:'], `https://localhost:${port(env, 'GATEWAY_PORT', 8443)}`).origin,
    trustProxy: trustedProxies(env),
    identity: loadIdentityConfig(env, data, mode),
    payments: loadPaymentsConfig(env, mode),
    webhooks: loadWebhooksConfig(env, data, mode),
    // The gateway's client certificate for the vault serves here too unless its own is set.
    auditExport: {
      url: url(env, 'AUDIT_EXPORT_URL', ['https:'], 'https://127.0.0.1:8447'),
      ca: read('INTERNAL_CA_FILE', join(pki, 'ca.crt')),
      cert: read('AUDIT_CLIENT_CERT_FILE', env.VAULT_CLIENT_CERT_FILE || join(pki, 'gateway.crt')),
      key: read('AUDIT_CLIENT_KEY_FILE', env.VAULT_CLIENT_KEY_FILE || join(pki, 'gateway.key')),
      timeoutMs: int(env, 'AUDIT_EXPORT_TIMEOUT_MS', 120_000, 1_000, 600_000),
    },
  };
  if (mode === 'production' && isDevelopmentCa(config.vault.ca)) {
    throw new ConfigError('INTERNAL_CA_FILE', 'production refuses the generated development CA');
  }
  return freeze(config);
}
