// SP-4 (issue 17 item 2): "the site runs in a separate protected sub-network; there is no direct
// connection between the site and the banking system", proven on one host. deploy/netns/up.sh
// builds the namespaces public, gateway, private and data; PostgreSQL, Redis and the audit-worker
// run in data, the vault in private, the gateway in gateway, all compiled (dist/, plain node).
// Every client runs inside a namespace: nothing here is sent to an address outside them.
import t from 'tap';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { repoRoot } from '../../lib/paths.js';
import { generateDevPki } from '../../lib/pki.js';
import { ensureDevSecrets } from '../../scripts/dev-secrets.js';

const PUBLIC = '10.231.1.1'; // the gateway's public address, seen from `public`
const STAFF = '10.231.2.1'; // the gateway's staff listener, on the private side
const VAULT = '10.231.2.2';
const DATA_FROM_GATEWAY = '10.231.3.1';
const DATA_FROM_VAULT = '10.231.4.1';

function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN';
  const probe = `pgwprobe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (err) {
    return `ip netns add is refused here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  }
  if (!existsSync(join(repoRoot, 'dist', 'gateway', 'src', 'server.js'))) return 'no build: run npm run build first (npm run test:netns does)';
  return undefined;
}

interface Run { code: number | null; stdout: string; stderr: string }
const runIn = (ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Run>((resolve) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { env, maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });

const skip = netnsUnavailable();
t.test('SP-4: network separation in namespaces (public, gateway, private, data)', { skip }, async (t) => {
  const prefix = `p${randomBytes(3).toString('hex')}`;
  const ns = (name: string) => `${prefix}-${name}`;
  const down = () => execFileSync(join(repoRoot, 'deploy/netns/down.sh'), [prefix], { stdio: 'inherit' });
  process.once('exit', down); // a crashed test still removes its namespaces
  t.teardown(() => { process.off('exit', down); down(); });
  execFileSync(join(repoRoot, 'deploy/netns/up.sh'), [prefix], { stdio: 'inherit' });

  const scratch = mkdtempSync(join(tmpdir(), 'pgw-netns-'));
  chmodSync(scratch, 0o755);
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const dataDir = join(scratch, 'data');
  generateDevPki(join(dataDir, 'pki'), {
    publicHosts: ['localhost', PUBLIC], vaultHosts: [VAULT], auditHosts: [DATA_FROM_GATEWAY],
  });
  ensureDevSecrets(dataDir);
  const pki = (f: string) => join(dataDir, 'pki', f);

  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      c.kill('SIGKILL');
    }
  });
  // Starts a process in a namespace; resolves once its output matches `readyLine`.
  const start = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, readyLine: RegExp) => {
    const child = spawn('ip', ['netns', 'exec', ns(name), cmd, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} in ${ns(name)} not ready:\n${output}`)), 60_000);
      const seen = (d: Buffer) => { output += d; if (readyLine.test(output)) { clearTimeout(timer); resolve(); } };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} in ${ns(name)} exited ${code}:\n${output}`)); });
    });
  };

  // The data network: its own PostgreSQL and Redis (the host's listen on loopback, which no
  // namespace reaches).
  const pgBin = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1)!, 'bin');
  const pgData = join(scratch, 'pg');
  const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  execFileSync('mkdir', ['-m', '0700', pgData]);
  chownSync(pgData, pgUid, pgGid);
  execFileSync('runuser', ['-u', 'postgres', '--', join(pgBin, 'initdb'), '-D', pgData, '-A', 'trust', '-U', 'postgres'], { stdio: 'pipe' });
  // Trust, as the host's test server does: the namespaces' links are the only way in.
  appendFileSync(join(pgData, 'pg_hba.conf'), 'host all all 10.231.0.0/16 trust\n');
  await start('data', 'runuser', ['-u', 'postgres', '--', join(pgBin, 'postgres'), '-D', pgData, '-k', pgData,
    '-c', `listen_addresses=${DATA_FROM_GATEWAY},${DATA_FROM_VAULT}`, '-c', 'fsync=off'], {}, /ready to accept connections/);
  await start('data', 'redis-server', ['--bind', `${DATA_FROM_GATEWAY} ${DATA_FROM_VAULT}`, '--port', '6379', '--save', '',
    '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no'], {}, /Ready to accept connections/);

  const db = (host: string, user: string) => `postgres://${user}@${host}:5432/postgres`;
  const roles = await runIn(ns('data'), 'psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-h', DATA_FROM_GATEWAY, '-U', 'postgres', '-d', 'postgres',
    '-f', join(repoRoot, 'deploy/postgres/roles.sql')]);
  t.equal(roles.code, 0, `roles.sql: ${roles.stderr}`);
  const migrated = await runIn(ns('data'), 'node', [join(repoRoot, 'dist/scripts/migrate.js'), 'gateway', 'vault', 'audit'],
    { PATH: process.env.PATH, DATABASE_URL: db(DATA_FROM_GATEWAY, 'postgres'), LOG_LEVEL: 'warn' });
  t.equal(migrated.code, 0, 'compiled migrations, run from the data namespace', { output: migrated.stdout + migrated.stderr });

  const common = { NODE_ENV: 'test', LOG_LEVEL: 'info', DATA_DIR: dataDir, MIGRATE_ON_START: 'false', AUDIT_QUEUE: 'audit-events' };
  const node = (entry: string) => ['--enable-source-maps', join(repoRoot, 'dist', entry)];
  await start('data', 'node', node('audit-worker/src/worker.js'), {
    ...common, REDIS_URL: `redis://${DATA_FROM_GATEWAY}:6379`, AUDIT_DATABASE_URL: db(DATA_FROM_GATEWAY, 'pgw_audit_worker'),
    AUDIT_EXPORT_HOST: DATA_FROM_GATEWAY, AUDIT_EXPORT_PORT: '8447', AUDIT_CHECKPOINT_FILE: join(scratch, 'checkpoints.jsonl'),
  }, /Server listening at https:\/\/10\.231\.3\.1:8447/);
  await start('private', 'node', node('vault/src/server.js'), {
    ...common, REDIS_URL: `redis://${DATA_FROM_VAULT}:6379`, DATABASE_URL: db(DATA_FROM_VAULT, 'pgw_vault'),
    VAULT_HOST: VAULT, VAULT_PORT: '8444',
  }, /Server listening at https:\/\/10\.231\.2\.2:8444/);
  await start('gateway', 'node', node('gateway/src/server.js'), {
    ...common, REDIS_URL: `redis://${DATA_FROM_GATEWAY}:6379`, DATABASE_URL: db(DATA_FROM_GATEWAY, 'pgw_gateway'),
    GATEWAY_HOST: PUBLIC, GATEWAY_PORT: '8443', ADMIN_HOST: STAFF, ADMIN_PORT: '8445',
    GATEWAY_ALLOWED_HOSTS: 'localhost', VAULT_URL: `https://${VAULT}:8444`, AUDIT_EXPORT_URL: `https://${DATA_FROM_GATEWAY}:8447`,
  }, /Server listening at https:\/\/10\.231\.2\.1:8445/);

  // curl's exit codes: 0 answered, 7 could not connect (no route or refused), 35/56 the TLS
  // handshake failed or was ended by the server. "Unreachable" below means 7, never a TLS error.
  const curl = (from: string, url: string, ...args: string[]) =>
    runIn(ns(from), 'curl', ['-sS', '-m', '5', '-w', '\\n%{http_code}', ...args, url]);

  const site = await curl('public', 'https://localhost:8443/readyz', '--cacert', pki('ca.crt'), '--resolve', `localhost:8443:${PUBLIC}`);
  t.equal(site.code, 0, `public reaches the gateway's HTTPS port: ${site.stderr}`);
  t.match(site.stdout, /"vault":"ok"/, 'the gateway reaches the vault over mutual TLS (its /readyz asks the vault)');

  const vaultFromPublic = await curl('public', `https://${VAULT}:8444/healthz`, '-k');
  t.equal(vaultFromPublic.code, 7, `vault port unreachable from public, no TLS reached: ${vaultFromPublic.stderr.trim()}`);
  const routes = await runIn(ns('public'), 'ip', ['route', 'get', VAULT]);
  t.not(routes.code, 0, `public has no route to the vault: ${routes.stderr.trim()}`);

  const staffFromPublic = await curl('public', `https://${STAFF}:8445/healthz`, '-k');
  t.equal(staffFromPublic.code, 7, `staff listener unreachable from public: ${staffFromPublic.stderr.trim()}`);
  const staffOnPublicAddress = await curl('public', `https://${PUBLIC}:8445/healthz`, '-k');
  t.equal(staffOnPublicAddress.code, 7, `nothing answers 8445 on the gateway's public address: ${staffOnPublicAddress.stderr.trim()}`);
  const dataFromPublic = await curl('public', `http://${DATA_FROM_GATEWAY}:5432/`);
  t.equal(dataFromPublic.code, 7, `PostgreSQL unreachable from public: ${dataFromPublic.stderr.trim()}`);

  const noCert = await curl('private', `https://${VAULT}:8444/healthz`, '--cacert', pki('ca.crt'));
  t.ok(noCert.code === 35 || noCert.code === 56, `a process in private without a certificate is refused in the handshake (curl ${noCert.code}: ${noCert.stderr.trim()})`);
  const staffCert = await curl('private', `https://${VAULT}:8444/healthz`, '--cacert', pki('ca.crt'), '--cert', pki('admin.crt'), '--key', pki('admin.key'));
  t.ok((staffCert.code === 0 && /\n403$/.test(staffCert.stdout)) || staffCert.code === 35 || staffCert.code === 56, `a staff certificate (not the gateway's identity) is refused: curl ${staffCert.code} ${staffCert.stdout.trim()}`);
  const gatewayCert = await curl('private', `https://${VAULT}:8444/healthz`, '--cacert', pki('ca.crt'), '--cert', pki('gateway.crt'), '--key', pki('gateway.key'));
  t.equal(gatewayCert.code, 0, 'the same request with the gateway certificate is answered (the refusal above is the certificate)');
  t.match(gatewayCert.stdout, /\n200$/);

  const staff = await curl('private', 'https://localhost:8445/healthz', '--resolve', `localhost:8445:${STAFF}`,
    '--cacert', pki('ca.crt'), '--cert', pki('admin.crt'), '--key', pki('admin.key'));
  t.equal(staff.code, 0, `the staff listener answers on the private side with a staff certificate: ${staff.stderr.trim()}`);
});
