// What the gateway's routes share: built once in server.ts (or a test), decorated onto Fastify.
import type { Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { Clock } from '../../lib/clock.js';
import type { VaultClient } from '../../lib/vault-client.js';
import type { AuditClient } from '../../lib/audit-client.js';
import type { GatewayConfig } from './config.js';
import type { GatewayDatabase } from './database.js';
import type { SmsProvider } from './identity/sms.provider.js';
import type { PasswordHasher } from './identity/passwords.hasher.js';
import type { WebhookQueue } from './webhooks/dispatcher.js';
import type { GatewayMetrics } from './metrics.js';

export interface GatewayContext {
  config: Readonly<GatewayConfig>;
  db: Kysely<GatewayDatabase>;
  /** The pool under `db`, read by load shedding: requests queued for a connection. */
  pool: { readonly waitingCount: number };
  redis: Redis;
  vault: VaultClient;
  clock: Clock;
  sms: SmsProvider;
  passwords: PasswordHasher;
  /** Investigation exports come from the audit-worker, which alone reads schema `audit`. */
  audit: AuditClient;
  /** Counters the services bump where they decide an outcome (gateway/src/metrics.ts). */
  metrics: GatewayMetrics;
  /** Queues webhook deliveries; absent where no dispatcher runs (tests, WEBHOOKS_ENABLED=false): pending deliveries are queued when one starts. */
  webhooks?: WebhookQueue;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: GatewayContext;
  }
}
