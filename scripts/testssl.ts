// Runs testssl.sh, the scanner PCI DSS auditors run, against one TLS listener and returns its JSON
// findings. testssl exits 0 whatever it finds: callers judge the findings, not the exit code.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

export type Severity = 'DEBUG' | 'INFO' | 'OK' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'WARN' | 'FATAL';

export interface Finding {
  id: string;
  severity: Severity;
  finding: string;
}

/**
 * HIGH and CRITICAL are weaknesses; WARN and FATAL mean a check could not run, which must not pass
 * for a clean result.
 */
export const BLOCKING: ReadonlySet<Severity> = new Set(['HIGH', 'CRITICAL', 'WARN', 'FATAL']);

// What SP-1 is about: protocols, cipher categories, forward secrecy, server cipher order, HTTP
// headers (HSTS). ~55 s on the 2-core machine; the vulnerability checks (-U) would add 20-45 s
// and mostly need what these already rule out (SSLv3, CBC, RSA key exchange, TLS < 1.2).
const SP1_CHECKS = ['--protocols', '--std', '--fs', '--server-preference', '--headers'];

const run = promisify(execFile);

export function testsslInstalled(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'testssl'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Scans `target` (host:port; a host name must be in /etc/hosts: no DNS, nothing leaves the
 * machine but the scan itself). Rejects when testssl cannot reach the target or runs past
 * `timeoutMs`.
 */
export async function scanTls(target: string, timeoutMs = 240_000): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pgw-testssl-'));
  try {
    const jsonFile = join(dir, 'findings.json');
    const scan = run('testssl', [
      '--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none',
      ...SP1_CHECKS, '--jsonfile', jsonFile, target,
    ], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    scan.child.stdin?.end(); // nothing to answer: a prompt would otherwise wait until the timeout
    await scan;
    const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
    return findings.map(({ id, severity, finding }) => ({ id, severity, finding }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
