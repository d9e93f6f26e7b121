// The services the load scripts and the end-to-end tests talk to, started as `npm start` starts them (vault, audit-worker,
// gateway: each its own process, migrating its own schema) on free ports, with the per-address
// and per-phone ceilings lifted: the whole load comes from one address and few phones.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { generateDevPki } from '../../lib/pki.js';
import { ensureDevSecrets } from '../../scripts/dev-secrets.js';
import { freshDatabaseUrl } from './database.js';
import { startProcess, type Started } from './processes.js';
import { TEST_REDIS_URL, uniqueName } from './redis.js';
import { NO_SHEDDING } from './gateway.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface LoadTarget {
  dir: string;
  gateway: Started;
  vault: Started;
  worker: Started;
  databaseUrl: string;
  /** __ENV for the k6 scripts: where the listeners are and the TLS files. */
  env: Record<string, string>;
}

export const LIFTED_CEILINGS = {
  RATE_LIMIT_MAX: '1000000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '10000', OTP_MAX_PER_IP_HOUR: '100000',
  OTP_MAX_PER_PREFIX_HOUR: '1000000', OTP_DAILY_BUDGET: '100000000', OTP_RESEND_COOLDOWN_SECONDS: '0',
  LOGIN_RATE_LIMIT_PER_MINUTE: '100000', VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000',
};

/** `everyEnv` adds settings to all three processes (e.g. METRICS_PORT), `gatewayEnv` to the gateway alone. */
export async function startLoadTarget(t: Teardown, gatewayEnv: Record<string, string> = {}, everyEnv: Record<string, string> = {}): Promise<LoadTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  generateDevPki(join(dir, 'pki'));
  ensureDevSecrets(dir);
  const queue = uniqueName('load-audit');
  t.teardown(async () => {
    const q = new Queue(queue, { connection: { url: TEST_REDIS_URL } });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  });
  const databaseUrl = await freshDatabaseUrl(t);
  const common = { ...NO_SHEDDING, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: dir, DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: queue, ...everyEnv };
  const vault = await startProcess(t, 'vault/src/server.ts', { ...common, VAULT_PORT: '0' });
  const worker = await startProcess(t, 'audit-worker/src/worker.ts', {
    ...common, AUDIT_HEALTH_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl'),
  });
  const gateway = await startProcess(t, 'gateway/src/server.ts', {
    ...common, ...LIFTED_CEILINGS,
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    AUDIT_EXPORT_URL: `https://127.0.0.1:${String(worker.ready.exportPort)}`,
    GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ADMIN_PORT: '0',
    REDIS_KEY_PREFIX: `${uniqueName('load')}:`,
    ...gatewayEnv,
  });
  const pki = join(dir, 'pki');
  return {
    dir, gateway, vault, worker, databaseUrl,
    env: {
      BASE_URL: `https://localhost:${String(gateway.ready.publicPort)}`,
      STAFF_URL: `https://127.0.0.1:${String(gateway.ready.adminPort)}`,
      PKI_DIR: pki,
      SSL_CERT_FILE: join(pki, 'ca.crt'),
    },
  };
}
