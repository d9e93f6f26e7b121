// Development PKI made with node-forge: an internal CA, the vault's and the audit-worker's server
// certificates, client certificates for the gateway and for staff (admin), the public HTTPS
// certificate, and the CA's certificate revocation list.
// Production reads certificates of the same shape from configured paths (deploy/README.md).
// Key generation uses Node's native RSA (fast); node-forge builds and signs the certificates.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Subject alternative name URIs: a service's identity (SERVICE_IDENTITY_PREFIX). */
  uris?: string[];
  /** Extended key usages other than the usage's own (a test's odd certificate: [] for none). */
  extKeyUsage?: { serverAuth?: boolean; clientAuth?: boolean };
  notBefore?: Date;
  notAfter?: Date;
  /** Subject O; the development default is what production refuses (isDevelopmentCa). */
  organization?: string;
}

const DAY = 86_400_000;

/**
 * Services (the gateway calling the vault) are named by a URI in the certificate's subject
 * alternative names; staff certificates carry a common name and no URI, so one can never pass as
 * the other whatever its common name says.
 */
export const SERVICE_IDENTITY_PREFIX = 'spiffe://payments.internal/';
export const GATEWAY_SERVICE_IDENTITY = `${SERVICE_IDENTITY_PREFIX}gateway`;

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
    ...(opts.uris ?? []).map((value) => ({ type: 6, value })),
  ];
  const ext = opts.extKeyUsage ?? { serverAuth: opts.usage === 'server', clientAuth: opts.usage === 'client' };
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...(ext.serverAuth || ext.clientAuth ? [{ name: 'extKeyUsage', ...ext }] : []),
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

/**
 * True when `dir` holds a complete, current development PKI. A gateway certificate from before
 * service identities (no URI name) counts as missing, so `npm start` re-issues the set.
 */
export function devPkiExists(dir: string): boolean {
  if (!DEV_PKI_FILES.every((f) => existsSync(join(dir, f)))) return false;
  const gateway = forge.pki.certificateFromPem(readFileSync(join(dir, 'gateway.crt'), 'utf8'));
  const names = (gateway.getExtension('subjectAltName') as { altNames?: Array<{ value?: string }> } | null)?.altNames ?? [];
  return names.some((n) => n.value === GATEWAY_SERVICE_IDENTITY);
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
    writePair(dir, 'gateway', issueCertificate({ commonName: 'gateway', usage: 'client', issuer: ca, uris: [GATEWAY_SERVICE_IDENTITY] }));
  writePair(dir, 'admin', issueCertificate({ commonName: 'admin', usage: 'client', issuer: ca }));
  rmSync(join(dir, DEV_REVOKED_FILE), { force: true });
  writeDevCrl(dir);
}

/** The development CA's revocation list, next to ca.crt (INTERNAL_CRL_FILE=pki/ca.crl). */
export const DEV_CRL_FILE = 'ca.crl';
/** The serials the development CA has revoked, from which ca.crl is re-signed. */
const DEV_REVOKED_FILE = 'revoked.json';

/** Adds the given PEM certificates to the development CA's revoked list and re-signs ca.crl. */
export function writeDevCrl(dir: string, revokeCertificates: Array<string | Buffer> = []): void {
  const listFile = join(dir, DEV_REVOKED_FILE);
  const known = existsSync(listFile) ? JSON.parse(readFileSync(listFile, 'utf8')) as Record<string, string> : {};
  for (const pem of revokeCertificates) known[certificateSerial(pem)] ??= new Date().toISOString();
  writeFileSync(listFile, `${JSON.stringify(known, null, 2)}\n`, { mode: 0o644 });
  const ca = { certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
  const revoked = Object.entries(known).map(([serial, at]) => ({ serial, at: new Date(at) }));
  writeFileSync(join(dir, DEV_CRL_FILE), issueCrl({ issuer: ca, revoked }), { mode: 0o644 });
}

export interface Revocation {
  /** The certificate's serial number, hex (forge's `serialNumber`). */
  serial: string;
  at: Date;
}

export interface CrlOptions {
  issuer: KeyPair;
  revoked: Revocation[];
  thisUpdate?: Date;
  nextUpdate?: Date;
}

/** The serial number (hex) of a PEM certificate, to revoke it. */
export function certificateSerial(certPem: string | Buffer): string {
  return forge.pki.certificateFromPem(certPem.toString()).serialNumber;
}

/**
 * A version 1 X.509 CRL (RFC 5280 5.1) signed by `issuer` with sha256WithRSA, PEM. node-forge
 * builds certificates but not CRLs: the structure is assembled with its ASN.1 writer and signed
 * with node:crypto. TLS checks it with `crl` (Node's secure context); past nextUpdate every
 * handshake fails, so a deployment republishes it before then.
 */
export function issueCrl(opts: CrlOptions): string {
  const { asn1 } = forge;
  const seq = (value: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, value);
  const time = (d: Date) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d));
  const algorithm = seq([
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(forge.pki.oids.sha256WithRSAEncryption!).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
  const issuerCert = forge.pki.certificateFromPem(opts.issuer.certPem);
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = opts.nextUpdate ?? new Date(thisUpdate.getTime() + 397 * DAY);
  const entries = opts.revoked.map((r) => seq([
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, forge.util.hexToBytes(r.serial)),
    time(r.at),
  ]));
  const tbs = seq([
    algorithm,
    forge.pki.distinguishedNameToAsn1(issuerCert.subject),
    time(thisUpdate),
    time(nextUpdate),
    ...(entries.length ? [seq(entries)] : []),
  ]);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, createPrivateKey(opts.issuer.keyPem));
  const crl = seq([
    tbs,
    algorithm,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`),
  ]);
  const der = Buffer.from(asn1.toDer(crl).getBytes(), 'binary').toString('base64');
  return `-----BEGIN X509 CRL-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END X509 CRL-----\n`;
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
