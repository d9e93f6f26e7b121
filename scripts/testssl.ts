// Runs testssl.sh, the scanner PCI DSS auditors run, against one TLS listener and returns its JSON
// findings. Callers judge the findings, not the exit code: testssl 3.0.8 exits 0 on a clean scan
// and also on some weaknesses, and with a small count on others (an obsolete CBC suite offered).
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
const TLS_CHECKS = ['--protocols', '--std', '--fs', '--server-preference'];

export interface ScanOptions {
  /**
   * Check the HTTP headers (HSTS) too. Off for a mutual-TLS listener: testssl 3.0.8 cannot present
   * a client certificate, so it gets no HTTP answer there; its TLS checks need only the server's
   * side of the handshake.
   */
  headers?: boolean;
  /**
   * A PEM file holding a client certificate and its key, presented with `--mtls` where the
   * installed testssl has that option (3.1 and later; see testsslSupportsMtls).
   */
  clientCertificate?: string;
  timeoutMs?: number;
}

/**
 * What SP-1 asks of a listener, as testssl 3.0.8's ids and findings. TLS 1.0/1.1 offered, or CBC
 * (AVERAGE) suites, are only LOW there, so each property is asserted by id, not left to the
 * severity gate.
 */
export const SP1_EXPECTED: Readonly<Record<string, RegExp>> = {
  SSLv2: /^not offered$/,
  SSLv3: /^not offered$/,
  TLS1: /^not offered$/,
  TLS1_1: /^not offered$/,
  TLS1_2: /^offered$/,
  TLS1_3: /^offered/,
  cipherlist_NULL: /^not offered$/,
  cipherlist_aNULL: /^not offered$/,
  cipherlist_EXPORT: /^not offered$/,
  cipherlist_LOW: /^not offered$/,
  cipherlist_3DES_IDEA: /^not offered$/,
  cipherlist_AVERAGE: /^not offered$/, // "Obsolete CBC ciphers": AES, ARIA, Camellia, SEED in CBC mode
  cipherlist_STRONG: /^offered$/,
  PFS: /^offered$/,
};

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

/** Whether the installed testssl can present a client certificate (`--mtls`, testssl 3.1+; 3.0.8 cannot). */
export async function testsslSupportsMtls(): Promise<boolean> {
  const { stdout } = await run('testssl', ['--help'], { maxBuffer: 4 * 1024 * 1024 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return /--mtls\b/.test(stdout);
}

/**
 * Scans `target` (host:port; a host name must be in /etc/hosts: no DNS, nothing leaves the
 * machine but the scan itself). Rejects when testssl cannot reach the target or runs past
 * `timeoutMs`.
 */
export async function scanTls(
  target: string,
  { headers = true, clientCertificate, timeoutMs = 240_000 }: ScanOptions = {},
): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pgw-testssl-'));
  try {
    const jsonFile = join(dir, 'findings.json');
    const scan = run('testssl', [
      '--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none',
      ...TLS_CHECKS, ...(headers ? ['--headers'] : []), ...(clientCertificate ? ['--mtls', clientCertificate] : []),
      '--jsonfile', jsonFile, target,
    ], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    scan.child.stdin?.end(); // nothing to answer: a prompt would otherwise wait until the timeout
    await scan.catch((error: { code?: unknown }) => {
      if (!scanCompleted(error.code)) throw error;
    });
    const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
    return findings.map(({ id, severity, finding }) => ({ id, severity, finding }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// testssl's own errors (connection refused, bad command line, no OpenSSL …) are exit codes 242 and
// above; below that the scan ran to its end and its JSON holds the findings.
const FIRST_TESTSSL_ERROR = 242;

function scanCompleted(exitCode: unknown): boolean {
  return typeof exitCode === 'number' && exitCode > 0 && exitCode < FIRST_TESTSSL_ERROR;
}
