// The public API's OpenAPI document and its TypeScript types, made by building the public app
// without listening: its settings are the development defaults over a throw-away PKI, and its
// database, Redis, vault and SMS handles are created but never used (no route is called, and each
// connects on first use), so `npm run openapi` needs no running service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Redis } from 'ioredis';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { systemClock } from '../../lib/clock.js';
import { createDb, createPool } from '../../lib/db.js';
import { generateDevPki } from '../../lib/pki.js';
import { createAuditClient } from '../../lib/audit-client.js';
import { createVaultClient } from '../../lib/vault-client.js';
import { ensureDevSecrets } from '../../scripts/dev-secrets.js';
import { publicApp } from '../src/app.js';
import { loadGatewayConfig } from '../src/config.js';
import type { GatewayDatabase } from '../src/database.js';
import { createPasswordHasher } from '../src/identity/passwords.hasher.js';
import { createGatewayMetrics } from '../src/metrics.js';
import { Registry } from 'prom-client';
import { createSmsProvider } from '../src/identity/sms.provider.js';

/** Where the committed document and types live. */
export const OPENAPI_JSON = new URL('./openapi.json', import.meta.url);
export const OPENAPI_TYPES = new URL('./schema.d.ts', import.meta.url);

/**
 * The settings the committed document is made with: development's, so the sandbox 3-D Secure
 * answer (THREE_DS_SANDBOX_PAGES, on everywhere but production) is in it.
 */
export const DESCRIBED_ENV = { NODE_ENV: 'development', THREE_DS_SANDBOX_PAGES: 'true' } as const;

export async function describePublicApi(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pgw-openapi-'));
  try {
    generateDevPki(join(dataDir, 'pki'));
    ensureDevSecrets(dataDir);
    const config = loadGatewayConfig({
      ...DESCRIBED_ENV,
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgres://127.0.0.1:5432/never-connected',
      SMS_OUTBOX_FILE: join(dataDir, 'sms-outbox.jsonl'),
      PAYMENTS_SWEEP_INTERVAL_MS: '0',
    });
    const pool = createPool(config.databaseUrl, { max: 1, applicationName: 'openapi' });
    const redis = new Redis(config.redisUrl, { lazyConnect: true });
    const vault = createVaultClient(config.vault);
    const audit = createAuditClient(config.auditExport);
    const ctx = {
      config, db: createDb<GatewayDatabase>(pool), pool, redis, vault, audit, clock: systemClock,
      sms: createSmsProvider(config.identity.sms, systemClock),
      passwords: createPasswordHasher(config.identity.passwordHash),
      metrics: createGatewayMetrics(new Registry()),
    };
    const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
    try {
      // Not encapsulated, so the `swagger` decorator it adds is the root's to call.
      await app.register(fp(publicApp), { ctx });
      await app.ready();
      return app.swagger() as unknown as Record<string, unknown>;
    } finally {
      await app.close();
      await Promise.all([pool.end(), vault.close(), audit.close(), ctx.sms.close()]);
      redis.disconnect();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The committed form of the document: stable key order as generated, two-space JSON. */
export function documentText(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The openapi-typescript types of the document, as committed. */
export async function typesText(doc: object): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]));
}
