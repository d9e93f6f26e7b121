// Webhook settings (README "Settings"), read by config.ts from the same env record.
import { join } from 'node:path';
import { bool, ConfigError, int, secretFile, str, type Env } from '../../../lib/config.js';

export interface WebhooksConfig {
  /** Runs the relay and the delivery worker in this process; off in tests unless a test starts them. */
  enabled: boolean;
  /** AES-256-GCM key sealing endpoints' signing secrets at rest (secret-box.ts). */
  secretKey: Buffer;
  /** Hosts exempt from the SSRF address check: development and tests only (refused in production). */
  allowedHosts: ReadonlySet<string>;
  timeoutMs: number;
  concurrency: number;
  queue: string;
  /** BullMQ key prefix of the queue in Redis: by default under REDIS_KEY_PREFIX, so gateways kept apart by it never take each other's jobs. */
  queuePrefix: string;
  relayIntervalMs: number;
  retry: RetryPolicy;
}

/** BullMQ `attempts` and exponential `backoff.delay`: retry k waits delay·2^(k-1). */
export interface RetryPolicy { attempts: number; baseDelayMs: number }

/**
 * The number of attempts whose back-off fits in the retry window: n retries wait
 * base·(2^n − 1) in total, so n = ⌊log2(window/base + 1)⌋. The defaults (30 s, 72 h) give 13
 * retries, the last ~2.8 days after the first attempt; after it the delivery is marked failed.
 */
export function retryPolicy(baseDelayMs: number, windowMs: number): RetryPolicy {
  const retries = Math.max(1, Math.floor(Math.log2(windowMs / baseDelayMs + 1)));
  return { attempts: retries + 1, baseDelayMs };
}

function secretKey(env: Env, data: string): Buffer {
  const fromEnv = env.WEBHOOK_SECRET_KEY;
  const raw = fromEnv !== undefined && fromEnv !== ''
    ? fromEnv
    : secretFile(env, 'WEBHOOK_SECRET_KEY_FILE', data, join(data, 'keys', 'webhook-secret.key')).toString('utf8').trim();
  const key = Buffer.from(raw.trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(fromEnv ? 'WEBHOOK_SECRET_KEY' : 'WEBHOOK_SECRET_KEY_FILE', 'must hold exactly 32 random bytes, base64');
  return key;
}

export function loadWebhooksConfig(env: Env, data: string, mode: 'development' | 'test' | 'production'): WebhooksConfig {
  const allowedHosts = (env.WEBHOOK_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, '')).filter(Boolean);
  if (mode === 'production' && allowedHosts.length > 0) {
    throw new ConfigError('WEBHOOK_ALLOWED_HOSTS', 'production refuses exemptions from the webhook address check');
  }
  const baseDelayMs = int(env, 'WEBHOOK_RETRY_BASE_DELAY_MS', 30_000, 10, 3_600_000);
  const windowMs = int(env, 'WEBHOOK_RETRY_WINDOW_MS', 72 * 3_600_000, 1_000, 30 * 86_400_000);
  if (windowMs < baseDelayMs) throw new ConfigError('WEBHOOK_RETRY_WINDOW_MS', 'must be at least WEBHOOK_RETRY_BASE_DELAY_MS');
  return {
    enabled: bool(env, 'WEBHOOKS_ENABLED', mode !== 'test'),
    secretKey: secretKey(env, data),
    allowedHosts: new Set(allowedHosts),
    timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    concurrency: int(env, 'WEBHOOK_CONCURRENCY', 16, 1, 1_000),
    queue: str(env, 'WEBHOOK_QUEUE', 'webhook-deliveries'),
    queuePrefix: str(env, 'WEBHOOK_QUEUE_PREFIX', `${str(env, 'REDIS_KEY_PREFIX', 'pgw:')}bull`),
    relayIntervalMs: int(env, 'WEBHOOK_RELAY_INTERVAL_MS', 1_000, 10, 60_000),
    retry: retryPolicy(baseDelayMs, windowMs),
  };
}
