// `npm start`: development PKI and keys, PostgreSQL and Redis, then vault, audit-worker and
// gateway as child processes. Ready when all say so. Ctrl-C or SIGTERM stops the gateway first
// (in-flight requests finish), then the worker and the vault, then PostgreSQL and Redis.
// Children run in their own process groups so a terminal's Ctrl-C reaches only this supervisor,
// and each child stops itself if the supervisor vanishes (IPC disconnect): no orphans.
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { devPkiExists, generateDevPki } from '../lib/pki.js';
import { dataDir, repoRoot } from '../lib/paths.js';
import { ensureDevSecrets } from './dev-secrets.js';
import { ensureRedis, type LocalService } from './local-services.js';

const say = (message: string) => process.stdout.write(`[start] ${message}\n`);
const started = Date.now();
const data = dataDir(process.env);
const services: LocalService[] = [];
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const child = fork(join(repoRoot, entry), [], {
    env,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  children.push({ name, child });
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') resolve(m as Record<string, unknown>);
    });
    child.once('exit', (code, signal) => {
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
      if (!stopping) {
        say(`${name} exited (${code ?? signal}); stopping everything`);
        void stopAll(1);
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const name of ['gateway', 'audit-worker', 'vault', 'postgres']) {
    const entry = children.find((c) => c.name === name);
    if (entry) await stopChild(entry.child);
  }
  for (const service of services.reverse()) await service.stop().catch(() => undefined);
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  // Readable by the embedded PostgreSQL's own user; the key folders inside stay 0700.
  mkdirSync(data, { recursive: true, mode: 0o755 });
  chmodSync(data, 0o755);
  const pkiDir = join(data, 'pki');
  if (!devPkiExists(pkiDir)) {
    say(`generating development PKI in ${pkiDir}`);
    generateDevPki(pkiDir);
  }
  ensureDevSecrets(data);

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: data };
  const postgres = process.env.DATABASE_URL
    ? undefined
    : startChild('postgres', 'scripts/embedded-postgres.ts', env);
  const redis = await ensureRedis(process.env.REDIS_URL, Number(process.env.LOCAL_REDIS_PORT ?? 6380), say);
  services.push(redis);
  env.REDIS_URL = redis.url;
  // Embedded: each process logs in as its own role (deploy/postgres/roles.sql), migrated already.
  // An external DATABASE_URL serves all three as before (each one's own setting, VAULT_DATABASE_URL
  // or AUDIT_DATABASE_URL, still wins), and they migrate themselves unless MIGRATE_ON_START=false.
  const embedded = postgres ? (await postgres).roles as Record<'gateway' | 'vault' | 'audit', string> : undefined;
  const own = (url: string | undefined, setting?: string): NodeJS.ProcessEnv =>
    url ? { ...env, DATABASE_URL: url, ...(setting ? { [setting]: url } : {}), MIGRATE_ON_START: 'false' } : env;

  const [, worker] = await Promise.all([
    startChild('vault', 'vault/src/server.ts', own(embedded?.vault, 'VAULT_DATABASE_URL')),
    startChild('audit-worker', 'audit-worker/src/worker.ts', own(embedded?.audit, 'AUDIT_DATABASE_URL')),
  ]);
  // The gateway asks the worker for investigation exports (SP-20) where the worker listens.
  const exportHost = process.env.AUDIT_EXPORT_HOST ?? '127.0.0.1';
  const gateway = await startChild('gateway', 'gateway/src/server.ts', {
    ...own(embedded?.gateway),
    AUDIT_EXPORT_URL: process.env.AUDIT_EXPORT_URL ?? `https://${exportHost}:${String(worker.exportPort)}`,
  });
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`gateway:    https://localhost:${String(gateway.publicPort)}  (trust ${join(pkiDir, 'ca.crt')})`);
  say(`admin:      https://127.0.0.1:${String(gateway.adminPort)}  (client certificate ${join(pkiDir, 'admin.crt')})`);
  say(`audit:      https://${exportHost}:${String(worker.exportPort)}  (exports, mTLS, gateway certificate only)`);
  say(`SMS outbox: ${process.env.SMS_OUTBOX_FILE ?? join(data, 'sms-outbox.jsonl')}`);
} catch (err) {
  say(`failed to start: ${(err as Error).message}`);
  await stopAll(1);
}
