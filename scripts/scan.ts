// `npm run scan`: the evidence a security team regenerates with one command (issue 17 items 7-8).
// Builds dist/ once, starts the compiled vault, audit-worker and gateway (dist/, plain node) on 127.0.0.1 against the
// test PostgreSQL and Redis, scans every TLS listener with testssl.sh, checks the public listener's
// security headers, then runs every test file docs/pci-dss.md cites (among them
// test/deploy/netns.test.ts: the vault and staff ports do not answer from the `public` namespace,
// skipped with its reason without root). Writes scan-report/report.txt and report.json and ends
// with tap's summary line, which .ci/run counts; exit 1 on any failure. The evidence files' own
// TAP output is kept in scan-report/evidence.tap. Each step's duration and
// each evidence file's are in report.json (`timings`), so a slow scan says where its time went.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { repoRoot } from '../lib/paths.js';
import { ensureRoles, freshDatabaseUrl, migrateDatabase, RUNTIME_ROLES, runtimeUrl } from '../test/support/database.js';
import { testPkiDir, testDataDir } from '../test/support/pki.js';
import { startProcess } from '../test/support/processes.js';
import { TEST_REDIS_URL, uniqueName } from '../test/support/redis.js';
import { citedTests, readPciMap } from './pci-evidence.js';
import { BLOCKING, scanTls, SP1_EXPECTED, testsslInstalled, testsslSupportsMtls, type Finding } from './testssl.js';

type Status = 'pass' | 'fail' | 'skip';
interface Check { name: string; status: Status; detail: string }

const checks: Check[] = [];
const record = (name: string, status: Status, detail: string) => {
  checks.push({ name, status, detail });
  process.stdout.write(`${status.toUpperCase().padEnd(4)} ${name}: ${detail}\n`);
};
const cleanups: (() => unknown)[] = [];
const teardown = { teardown: (fn: () => unknown) => void cleanups.push(fn) };
const started = new Date();
const timings: { step: string; seconds: number }[] = [];
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const at = performance.now();
  try {
    return await fn();
  } finally {
    const seconds = Math.round(performance.now() - at) / 1000;
    timings.push({ step, seconds });
    process.stdout.write(`time ${step}: ${seconds.toFixed(1)} s\n`);
  }
}

/** testssl's findings as one check: no blocking finding and every SP-1 property as expected. */
function judgeTls(name: string, findings: readonly Finding[], note: string): void {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const problems = findings.filter((f) => BLOCKING.has(f.severity)).map((f) => `${f.id} ${f.severity}: ${f.finding}`);
  for (const [id, expected] of Object.entries(SP1_EXPECTED)) {
    const got = byId.get(id)?.finding;
    if (got === undefined || !expected.test(got)) problems.push(`${id}: ${got ?? 'not reported'}`);
  }
  record(`testssl ${name}`, problems.length ? 'fail' : 'pass', problems.length ? problems.join('; ') : `TLS 1.2/1.3 only, AEAD suites, forward secrecy${note}`);
}

async function startServices() {
  await ensureRoles();
  const url = await freshDatabaseUrl(teardown);
  await migrateDatabase(url, ['gateway', 'vault', 'audit']);
  const scratch = await mkdtemp(join(tmpdir(), 'pgw-scan-'));
  cleanups.push(() => rm(scratch, { recursive: true, force: true }));
  const compiled = { root: repoRoot, execArgv: ['--enable-source-maps'] };
  const common = { NODE_ENV: 'test', LOG_LEVEL: 'warn', DATA_DIR: testDataDir(), REDIS_URL: TEST_REDIS_URL, MIGRATE_ON_START: 'false' };
  const vault = await startProcess(teardown, 'dist/vault/src/server.js', {
    ...common, DATABASE_URL: runtimeUrl(url, RUNTIME_ROLES.vault), AUDIT_QUEUE: uniqueName('scan-vault'), VAULT_PORT: '0',
  }, 60_000, compiled);
  const worker = await startProcess(teardown, 'dist/audit-worker/src/worker.js', {
    ...common, AUDIT_DATABASE_URL: runtimeUrl(url, RUNTIME_ROLES.audit), AUDIT_QUEUE: uniqueName('scan-audit'),
    AUDIT_HEALTH_PORT: '0', AUDIT_EXPORT_PORT: '0', AUDIT_CHECKPOINT_FILE: join(scratch, 'checkpoints.jsonl'),
  }, 60_000, compiled);
  const gateway = await startProcess(teardown, 'dist/gateway/src/server.js', {
    ...common, DATABASE_URL: runtimeUrl(url, RUNTIME_ROLES.gateway), REDIS_KEY_PREFIX: `${uniqueName('scan')}:`,
    AUDIT_QUEUE: uniqueName('scan-gw'), GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', ADMIN_PORT: '0',
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    AUDIT_EXPORT_URL: `https://127.0.0.1:${String(worker.ready.exportPort)}`,
    SMS_OUTBOX_FILE: join(scratch, 'sms-outbox.jsonl'),
  }, 60_000, compiled);
  return {
    scratch,
    listeners: {
      public: `127.0.0.1:${String(gateway.ready.publicPort)}`,
      staff: `127.0.0.1:${String(gateway.ready.adminPort)}`,
      vault: `127.0.0.1:${String(vault.ready.port)}`,
      'audit export': `127.0.0.1:${String(worker.ready.exportPort)}`,
    },
  };
}

async function scanListeners(listeners: Record<string, string>, scratch: string): Promise<void> {
  if (!testsslInstalled()) {
    for (const name of Object.keys(listeners)) record(`testssl ${name}`, process.env.CI ? 'fail' : 'skip', 'testssl is not installed (apt-get install testssl.sh)');
    return;
  }
  // The mutual-TLS listeners: with a certificate they accept where testssl can send one; otherwise
  // the TLS checks still read the server's side of the handshake, and the header checks are left out.
  const mtls = await testsslSupportsMtls();
  const pki = testPkiDir();
  const pem = async (name: string) => {
    const file = join(scratch, `${name}.pem`);
    await writeFile(file, (await readFile(join(pki, `${name}.crt`), 'utf8')) + (await readFile(join(pki, `${name}.key`), 'utf8')), { mode: 0o600 });
    return file;
  };
  const clients: Record<string, string | undefined> = mtls
    ? { staff: await pem('admin'), vault: await pem('gateway'), 'audit export': await pem('gateway') }
    : {};
  const note = (name: string) => (name === 'public' ? ', headers scanned'
    : mtls ? ', with a client certificate' : ', without a client certificate (this testssl has no --mtls)');
  // One at a time, each with room: ~55 s on an idle 2-core machine, past 240 s when it is shared.
  for (const [name, target] of Object.entries(listeners)) {
    try {
      const findings = await timed(`testssl ${name}`, () => scanTls(target, { headers: name === 'public' || Boolean(clients[name]), clientCertificate: clients[name], timeoutMs: 600_000 }));
      judgeTls(`${name} (${target})`, findings, note(name));
      if (name === 'public') {
        const hsts = findings.find((f) => f.id === 'HSTS_time');
        record('testssl public HSTS', hsts?.severity === 'OK' ? 'pass' : 'fail', hsts ? `${hsts.severity}: ${hsts.finding}` : 'no HSTS finding');
      }
    } catch (err) {
      record(`testssl ${name} (${target})`, 'fail', `the scan did not complete: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

/** The public listener's security headers, on a page and on an API answer. */
async function checkHeaders(target: string): Promise<void> {
  const dispatcher = new Agent({ connect: { ca: await readFile(join(testPkiDir(), 'ca.crt')), servername: 'localhost' } });
  try {
    for (const [path, isPage] of [['/', true], ['/healthz', false]] as const) {
      const res = await request(`https://${target}${path}`, { dispatcher, headers: { host: 'localhost' } });
      await res.body.dump();
      const h = res.headers;
      const problems: string[] = [];
      const hsts = /max-age=(\d+)/.exec(String(h['strict-transport-security'] ?? ''));
      if (!hsts || Number(hsts[1]) < 15_552_000) problems.push(`HSTS ${String(h['strict-transport-security'] ?? 'missing')}`);
      if (h['x-content-type-options'] !== 'nosniff') problems.push('X-Content-Type-Options is not nosniff');
      if (h.server !== undefined) problems.push(`Server banner ${String(h.server)}`);
      if (h['x-powered-by'] !== undefined) problems.push(`X-Powered-By ${String(h['x-powered-by'])}`);
      const csp = String(h['content-security-policy'] ?? '');
      if (isPage && !(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) && /frame-ancestors 'none'/.test(csp))) problems.push(`page CSP ${csp || 'missing'}`);
      record(`headers ${path}`, problems.length ? 'fail' : 'pass', problems.length ? problems.join('; ')
        : `${String(res.statusCode)}, HSTS max-age ${hsts![1]}, nosniff, no Server/X-Powered-By${isPage ? ', strict page CSP' : ''}`);
    }
  } finally {
    await dispatcher.close();
  }
}

interface TestResult { file: string; ok: boolean; skipped: boolean; seconds?: number }

/** Runs tap on `files`, its whole TAP stream kept in `log`; each file's top-level result line and its time. */
function runTests(files: string[], extra: string[], env: NodeJS.ProcessEnv, log: string): Promise<TestResult[]> {
  return new Promise((resolve) => {
    execFile('npx', ['tap', '--reporter=tap', ...extra, ...files], { cwd: repoRoot, maxBuffer: 256 << 20, env }, (_err, stdout, stderr) => {
      writeFileSync(log, stdout + stderr);
      const results = new Map<string, TestResult>();
      for (const m of stdout.matchAll(/^(ok|not ok) \d+ - (\S+\.test\.ts)(.*)$/gm)) {
        const time = /# time=([\d.]+)ms/.exec(m[3]!);
        results.set(m[2]!, {
          file: m[2]!, ok: m[1] === 'ok', skipped: /# SKIP/i.test(m[3]!),
          ...(time ? { seconds: Math.round(Number(time[1])) / 1000 } : {}),
        });
      }
      // A file tap never reported (it crashed before its first line) fails.
      resolve(files.map((file) => results.get(file) ?? { file, ok: false, skipped: false }));
    });
  });
}

// The files that take minutes (a production install, namespaces, testssl scans) start first, so
// the short ones fill the other job slot instead of waiting behind them at the end.
const LONG_FIRST = [/^test\/deploy\//, /tls-scan\.test\.ts$/];

async function runEvidence(): Promise<TestResult[]> {
  const files = citedTests(readPciMap());
  const rank = (f: string) => { const i = LONG_FIRST.findIndex((re) => re.test(f)); return i < 0 ? LONG_FIRST.length : i; };
  const ordered = [...files].sort((a, b) => rank(a) - rank(b));
  // Most evidence files wait on PostgreSQL, Redis or a child process more than they compute: one
  // job more than the cores keeps both busy. dist/ is fresh (built above), so the deploy tests
  // skip their own build.
  const jobs = String(availableParallelism() + 1);
  // Every file's own output, for a failure's reason: scan-report/evidence.tap.
  mkdirSync(join(repoRoot, 'scan-report'), { recursive: true });
  const results = await runTests(ordered, [`--jobs=${jobs}`, '--timeout=900'], { ...process.env, PGW_DIST_FRESH: '1' }, join(repoRoot, 'scan-report', 'evidence.tap'));
  for (const r of results) {
    if (r.seconds !== undefined) timings.push({ step: `evidence ${r.file}`, seconds: r.seconds });
    record(`evidence ${r.file}`, r.ok ? (r.skipped ? 'skip' : 'pass') : 'fail', r.ok ? (r.skipped ? 'skipped (see its reason)' : 'passed') : 'failed');
  }
  return results;
}

/** `npm run build`: dist/ for the scanned processes and for the deploy tests, built once. */
function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('npm', ['run', 'build'], { cwd: repoRoot, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      (err ? reject(new Error(`npm run build failed:\n${stdout}${stderr}`)) : resolve()));
  });
}

let built = true;
await timed('build', build).catch((err: Error) => { built = false; record('npm run build', 'fail', err.message.split('\n').slice(0, 5).join(' ')); });
if (built) {
  try {
    const { listeners, scratch } = await timed('start the compiled processes', startServices);
    await timed('testssl (all listeners)', () => scanListeners(listeners, scratch));
    await timed('headers', () => checkHeaders(listeners.public));
  } catch (err) {
    record('start the compiled processes', 'fail', (err as Error).message.split('\n')[0]!);
  } finally {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  }
  await timed('evidence (all files)', runEvidence);
}

const count = (s: Status) => checks.filter((c) => c.status === s).length;
const summary = { passed: count('pass'), failed: count('fail'), skipped: count('skip') };
const out = join(repoRoot, 'scan-report');
mkdirSync(out, { recursive: true });
const report = { startedAt: started.toISOString(), finishedAt: new Date().toISOString(), summary, checks, timings };
writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(out, 'report.txt'), [
  `npm run scan, ${report.startedAt} to ${report.finishedAt}`,
  `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`,
  '',
  ...checks.map((c) => `${c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.detail}`),
  '',
  'Time per step (seconds):',
  ...timings.map((s) => `${s.seconds.toFixed(1).padStart(8)}  ${s.step}`),
  '',
].join('\n'));
process.stdout.write(`report: ${join(out, 'report.txt')}\n# { total: ${checks.length}, pass: ${summary.passed}, fail: ${summary.failed} }\n`);
process.exit(summary.failed ? 1 : 0);
