// Mutual TLS for the private listeners (vault, admin): the TLS layer accepts only certificates
// signed by the internal CA; this hook then accepts only identities on the allow-list (SP-4).
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The verified client certificate's common name, or undefined when the peer is not authorized. */
export function peerIdentity(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

export interface PeerRefusal {
  identity: string | undefined;
  ip: string;
  url: string;
}

/** onRequest hook: 403 before any route runs unless the peer's identity is allowed. */
export function requireAllowedPeer(allowed: readonly string[], onRefused?: (r: PeerRefusal) => void) {
  const allow = new Set(allowed);
  return async function allowListedPeer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const identity = peerIdentity(request);
    if (identity !== undefined && allow.has(identity)) return;
    onRefused?.({ identity, ip: request.ip, url: request.url });
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
}

/** https options for a listener that demands a client certificate from the internal CA. */
export function mutualTlsServerOptions(files: MutualTlsFiles) {
  return {
    ...files,
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
