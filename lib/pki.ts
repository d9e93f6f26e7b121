// Development PKI made with node-forge: an internal CA, the vault's and the audit-worker's server
// certificates, client certificates for the gateway and for staff (admin), and the public HTTPS
// certificate.
// Production reads certificates of the same shape from configured paths (deploy/README.md).
// Key generation uses Node's native RSA (fast); node-forge builds and signs the certificates.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import forge from 'node-forge';

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export type Usage = 'ca' | 'server' | 'client';

export interface IssueOptions {
  commonName: string;
  usage: Usage;
  issuer?: KeyPair;
  dnsNames?: string[];
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Subject O; the development default is what production refuses (isDevelopmentCa). */
  organization?: string;
}

const DAY = 86_400_000;

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER
  return bytes.toString('hex');
}

function extensionsFor(opts: IssueOptions): object[] {
  if (opts.usage === 'ca') {
    return [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ];
  }
  const altNames = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(opts.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: opts.usage === 'server', clientAuth: opts.usage === 'client' },
    { name: 'subjectKeyIdentifier' },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ];
}

export function issueCertificate(opts: IssueOptions): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serialNumber();
  const now = Date.now();
  cert.validity.notBefore = opts.notBefore ?? new Date(now - 60_000);
  cert.validity.notAfter = opts.notAfter ?? new Date(now + (opts.usage === 'ca' ? 3650 : 397) * DAY);
  const subject = [
    { name: 'commonName', value: opts.commonName },
    { name: 'organizationName', value: opts.organization ?? 'Payment Gateway (development)' },
  ];
  cert.setSubject(subject);
  const signer = opts.issuer ?? { certPem: '', keyPem: privateKey };
  cert.setIssuer(opts.issuer ? forge.pki.certificateFromPem(opts.issuer.certPem).subject.attributes : subject);
  cert.setExtensions(extensionsFor(opts));
  cert.sign(forge.pki.privateKeyFromPem(signer.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

export interface DevPkiOptions {
  vaultHosts?: string[];
  publicHosts?: string[];
  auditHosts?: string[];
}

export const DEV_PKI_FILES = [
  'ca.crt', 'ca.key', 'public.crt', 'public.key', 'vault.crt', 'vault.key',
  'gateway.crt', 'gateway.key', 'admin.crt', 'admin.key', 'audit.crt', 'audit.key',
] as const;

function splitHosts(hosts: string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
  return { dnsNames: hosts.filter((h) => !isIp(h)), ipAddresses: hosts.filter(isIp) };
}

function writePair(dir: string, name: string, pair: KeyPair): void {
  writeFileSync(join(dir, `${name}.crt`), pair.certPem, { mode: 0o644 });
  const keyPath = join(dir, `${name}.key`);
  writeFileSync(keyPath, pair.keyPem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
}

export function devPkiExists(dir: string): boolean {
  return DEV_PKI_FILES.every((f) => existsSync(join(dir, f)));
}

/** Writes a complete development PKI into `dir` (private keys 0600). */
export function generateDevPki(dir: string, opts: DevPkiOptions = {}): void {
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = issueCertificate({ commonName: 'Payment Gateway Internal CA (development)', usage: 'ca' });
  writePair(dir, 'ca', ca);
  writePair(dir, 'public', issueCertificate({
    commonName: 'localhost', usage: 'server', issuer: ca,
    ...splitHosts(opts.publicHosts ?? ['localhost', '127.0.0.1', '::1']),
  }));
  writePair(dir, 'vault', issueCertificate({
    commonName: 'vault', usage: 'server', issuer: ca,
    ...splitHosts(opts.vaultHosts ?? ['vault', 'localhost', '127.0.0.1']),
  }));
  // The audit-worker's export listener (SP-20), reached by the gateway over mutual TLS.
  writePair(dir, 'audit', issueCertificate({
    commonName: 'audit', usage: 'server', issuer: ca,
    ...splitHosts(opts.auditHosts ?? ['audit', 'localhost', '127.0.0.1']),
  }));
  writePair(dir, 'gateway', issueCertificate({ commonName: 'gateway', usage: 'client', issuer: ca }));
  writePair(dir, 'admin', issueCertificate({ commonName: 'admin', usage: 'client', issuer: ca }));
}

/** True for a CA made by generateDevPki: production configuration refuses it. */
export function isDevelopmentCa(caPem: Buffer | string): boolean {
  try {
    const cert = forge.pki.certificateFromPem(caPem.toString());
    return cert.subject.getField('O')?.value === 'Payment Gateway (development)';
  } catch {
    return false;
  }
}
