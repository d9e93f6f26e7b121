// Mutual TLS for the private listeners (vault, admin): the TLS layer accepts only certificates
// signed by the internal CA and not on its revocation list; this hook then accepts only
// identities on the allow-list (SP-4).
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The verified client certificate, or undefined when the handshake did not verify one. */
function verifiedPeer(request: FastifyRequest): PeerCertificate | undefined {
  const socket = request.raw.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return cert && Object.keys(cert).length ? cert : undefined;
}

function commonName(cert: PeerCertificate): string | undefined {
  const cn = cert.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

function isClientCertificate(cert: PeerCertificate): boolean {
  return (cert as { ext_key_usage?: string[] }).ext_key_usage?.includes(CLIENT_AUTH) === true;
}

// Node lists the names as `URI:a, DNS:b`, quoting any value holding a separator, so a name can
// neither be split in two nor smuggle a second one.
function uriNames(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(', ').filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
}

/**
 * The verified client certificate's common name, or undefined when the peer is not authorized.
 * It names the actor in audit records: staff, and the service a vault caller's URI identifies.
 */
export function peerIdentity(request: FastifyRequest): string | undefined {
  const cert = verifiedPeer(request);
  return cert ? commonName(cert) : undefined;
}

/**
 * Who may call a private listener (SP-4). A service (the gateway at the vault) is named by a URI
 * in its certificate's subject alternative names; a staff member by the common name of a
 * certificate that carries no URI. Either way the certificate must be issued for clientAuth.
 */
export type PeerPolicy = { kind: 'service' | 'staff'; allowed: readonly string[] };

function allowedPeer(cert: PeerCertificate | undefined, policy: PeerPolicy, allow: ReadonlySet<string>): boolean {
  if (!cert || !isClientCertificate(cert)) return false;
  const uris = uriNames(cert);
  if (policy.kind === 'service') return uris.some((u) => allow.has(u));
  const cn = commonName(cert);
  return uris.length === 0 && cn !== undefined && allow.has(cn);
}

export interface PeerRefusal {
  identity: string | undefined;
  ip: string;
  url: string;
}

/** onRequest hook: 403 before any route runs unless the peer's certificate passes the policy. */
/** `onRefused` is awaited before the 403 is sent: a refusal it must record is recorded first. */
export function requireAllowedPeer(policy: PeerPolicy, onRefused?: (r: PeerRefusal, request: FastifyRequest) => void | Promise<void>) {
  const allow = new Set(policy.allowed);
  return async function allowListedPeer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const cert = verifiedPeer(request);
    if (allowedPeer(cert, policy, allow)) return;
    await onRefused?.({ identity: cert ? commonName(cert) ?? uriNames(cert)[0] : undefined, ip: request.ip, url: request.url }, request);
    await reply.code(403).type('application/problem+json').send({
      type: '/problems/peer_not_allowed',
      title: 'Client certificate not allowed',
      status: 403,
      detail: 'this listener accepts only allow-listed client certificates',
      code: 'peer_not_allowed',
    });
  };
}

export interface MutualTlsFiles {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** The internal CA's revocation list (INTERNAL_CRL_FILE): a revoked certificate fails the handshake. */
  crl?: Buffer | undefined;
}

/** https options for a listener that demands a client certificate from the internal CA. */
export function mutualTlsServerOptions(files: MutualTlsFiles) {
  const { crl, ...rest } = files;
  return {
    ...rest,
    ...(crl ? { crl } : {}),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
    ciphers: AEAD_CIPHERS,
    honorCipherOrder: true,
  };
}

// TLS 1.2 suites: ECDHE key exchange with AEAD only. TLS 1.3 suites are all AEAD.
export const AEAD_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
