// `npm start` from a clean data folder: embedded PostgreSQL, generated PKI, three processes,
// /readyz = ready over HTTPS with the dev CA; SIGTERM exits 0 and leaves no process behind.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Agent, request } from 'undici';
import { loadPublicKey } from '../../lib/audit/chain.js';
import { verifyAuditExport } from '../../lib/audit/export.js';
import { repoRoot } from '../../lib/paths.js';
import { freePort } from '../../test/support/net.js';
import { TEST_REDIS_URL, uniqueName } from '../../test/support/redis.js';

function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) { found.push(child); walk(child); }
    }
  };
  walk(pid);
  return found;
}

// A zombie (state Z) has exited and only awaits reaping by init: it is not a running orphan.
function running(pid: number): string | undefined {
  try {
    const line = execFileSync('ps', ['-o', 'stat=,args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return line.startsWith('Z') ? undefined : `${pid} ${line}`;
  } catch {
    return undefined;
  }
}

t.test('npm start: clean start, ready, clean stop', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'pgw-start-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const [gatewayPort, adminPort, vaultPort, healthPort, pgPort, exportPort] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/start.ts')], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      DATA_DIR: data, REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: uniqueName('audit'), REDIS_KEY_PREFIX: `${uniqueName('t')}:`,
      EMBEDDED_PG_PORT: String(pgPort), GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(gatewayPort),
      ADMIN_PORT: String(adminPort), VAULT_PORT: String(vaultPort), VAULT_URL: `https://127.0.0.1:${vaultPort}`,
      AUDIT_HEALTH_PORT: String(healthPort), AUDIT_EXPORT_PORT: String(exportPort), LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 120 s:\n${output}`)), 120_000);
    // The SMS outbox line is the last the supervisor prints once everything is ready.
    child.stdout.on('data', () => { if (/\[start\] SMS outbox: .*\n/.test(output)) { clearTimeout(timer); resolve(); } });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}:\n${output}`)); });
  });
  t.match(output, /generating development PKI/);
  t.match(output, /\[start\] ready in \d+\.\d s/);
  t.match(output, /SMS outbox: /);
  const keyMode = statSync(join(data, 'pki', 'vault.key')).mode & 0o777;
  t.equal(keyMode, 0o600, 'private keys are written 0600');

  const agent = new Agent({ connect: { ca: readFileSync(join(data, 'pki', 'ca.crt')), servername: 'localhost' } });
  const res = await request(`https://127.0.0.1:${gatewayPort}/readyz`, { dispatcher: agent, headers: { host: 'localhost' } });
  t.same(await res.body.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', vault: 'ok' } });
  await agent.close();

  // SP-20: the staff export works out of the box: the gateway reaches the worker's export
  // listener over mutual TLS, and the signed answer verifies against the published key.
  const pki = (f: string) => readFileSync(join(data, 'pki', f));
  const staff = new Agent({ connect: { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key'), servername: 'localhost' } });
  const exported = await request(`https://127.0.0.1:${adminPort}/v1/clients/${randomUUID()}/audit?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z`, { dispatcher: staff });
  const trail = await exported.body.text();
  await staff.close();
  t.equal(exported.statusCode, 200, trail);
  t.match(verifyAuditExport(trail, loadPublicKey(readFileSync(join(data, 'keys', 'audit-signing.pub')))), { ok: true, records: 0 });
  t.match(output, new RegExp(`\\[start\\] audit: +https://127\\.0\\.0\\.1:${exportPort}`));

  // SP-17: each process is connected as its own role of deploy/postgres/roles.sql, none as the superuser.
  const superuser = new pg.Client({
    connectionString: `postgres://postgres:${encodeURIComponent(readFileSync(join(data, 'pg-password'), 'utf8').trim())}@127.0.0.1:${pgPort}/gateway`,
  });
  await superuser.connect();
  const { rows: sessions } = await superuser.query<{ application_name: string; usename: string }>(
    `select distinct application_name, usename from pg_stat_activity
     where datname = 'gateway' and application_name in ('gateway', 'vault', 'audit-worker') order by 1`);
  await superuser.end();
  const roleOf: Record<string, string> = { gateway: 'pgw_gateway', vault: 'pgw_vault', 'audit-worker': 'pgw_audit_worker' };
  t.ok(sessions.some((s) => s.application_name === 'gateway'), `the processes' sessions are seen: ${JSON.stringify(sessions)}`);
  t.same(sessions.filter((s) => roleOf[s.application_name] !== s.usename), [], 'every session of a process logs in as that process\'s role');

  const tree = descendants(child.pid!);
  t.ok(tree.length >= 4, 'gateway, vault, worker and PostgreSQL run under the supervisor');
  const code = await new Promise<number | null>((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); });
  t.equal(code, 0, 'SIGTERM exits 0');
  const survivors = tree.map(running).filter(Boolean);
  t.same(survivors, [], 'no orphan process remains');
});
