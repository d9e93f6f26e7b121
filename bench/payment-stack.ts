// The vault and gateway processes a payments bench drives (bench:payments, bench/profile-payments):
// a scratch DATA_DIR with its PKI and secrets, a fresh database each, their own audit queue and
// Redis prefix, the SMS outbox as a file, and the per-address and per-phone ceilings lifted: the
// whole load comes from one address and few phones. Nothing drains the audit queue (no worker):
// the gateway's outbox rows counted around a scenario are the events it recorded.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { generateDevPki } from '../lib/pki.js';
import { ensureDevSecrets } from '../scripts/dev-secrets.js';
import { freshDatabaseUrl } from '../test/support/database.js';
import { LIFTED_CEILINGS } from '../test/support/load-target.js';
import { startProcess, type Started } from '../test/support/processes.js';
import { TEST_REDIS_URL, uniqueName } from '../test/support/redis.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface PaymentStack {
  dir: string;
  ca: Buffer;
  smsFile: string;
  vault: Started;
  gateway: Started;
  vaultDb: string;
  gatewayDb: string;
}

export async function startPaymentStack(t: Teardown, opts: {
  name: string;
  vaultEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  execArgv?: string[];
}): Promise<PaymentStack> {
  const dir = mkdtempSync(join(tmpdir(), `pgw-${opts.name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  generateDevPki(join(dir, 'pki'));
  ensureDevSecrets(dir);
  const smsFile = join(dir, 'sms-outbox.jsonl');
  const auditQueue = uniqueName(`${opts.name}-audit`);
  const common = { NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: dir, REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: auditQueue };
  t.teardown(async () => {
    const q = new Queue(auditQueue, { connection: { url: TEST_REDIS_URL } });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  });
  const spawnOpts = opts.execArgv ? { execArgv: opts.execArgv } : undefined;
  const vaultDb = await freshDatabaseUrl(t);
  const gatewayDb = await freshDatabaseUrl(t);
  const vault = await startProcess(t, 'vault/src/server.ts', { ...common, DATABASE_URL: vaultDb, VAULT_PORT: '0', ...opts.vaultEnv }, 60_000, spawnOpts);
  const gateway = await startProcess(t, 'gateway/src/server.ts', {
    ...common, ...LIFTED_CEILINGS,
    DATABASE_URL: gatewayDb,
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ADMIN_PORT: '0',
    REDIS_KEY_PREFIX: `${uniqueName(opts.name)}:`,
    SMS_OUTBOX_FILE: smsFile,
    ...(process.env.GATEWAY_DB_POOL ? { GATEWAY_DB_POOL: process.env.GATEWAY_DB_POOL } : {}),
    ...opts.gatewayEnv,
  }, 60_000, spawnOpts);
  return { dir, ca: readFileSync(join(dir, 'pki', 'ca.crt')), smsFile, vault, gateway, vaultDb, gatewayDb };
}
