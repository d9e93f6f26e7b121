// The real audit-worker process (audit-worker/src/worker.ts) storing one test's audit queue into
// its database as the worker's own role (pgw_audit_worker, a member of audit_writer), for tests of other components that need the audit store
// filled end to end; they reach the worker only as a process, as in production. Its export
// listener takes a free port, announced as `ready.exportPort`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_ROLES, runtimeUrl } from './database.js';
import { testDataDir } from './pki.js';
import { startProcess, type Started } from './processes.js';
import { TEST_REDIS_URL } from './redis.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** `databaseUrl` must hold the audit migrations; `env` adds or overrides (LOG_LEVEL …). */
export async function startAuditWorkerProcess(
  t: Teardown, databaseUrl: string, queueName: string, env: Record<string, string> = {},
): Promise<Started> {
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-audit-worker-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  return startProcess(t, 'audit-worker/src/worker.ts', {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: testDataDir(),
    REDIS_URL: TEST_REDIS_URL,
    AUDIT_QUEUE: queueName,
    AUDIT_DATABASE_URL: runtimeUrl(databaseUrl, RUNTIME_ROLES.audit),
    MIGRATE_ON_START: 'false',
    AUDIT_HEALTH_PORT: '0',
    AUDIT_EXPORT_PORT: '0',
    AUDIT_CHECKPOINT_FILE: join(scratch, 'checkpoints.jsonl'),
    ...env,
  });
}
