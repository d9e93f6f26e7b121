// The client side of the private listeners (vault, audit-worker export): an undici pool that
// presents the gateway's certificate, trusts only the internal CA, speaks TLS 1.3 only and keeps
// its connections, so a call costs no handshake once they are up.
import { Agent } from 'undici';

export interface MutualTlsAgentOptions {
  url: URL;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  timeoutMs: number;
  connections: number;
  keepAliveMaxTimeoutMs?: number;
}

export function mutualTlsAgent(opts: MutualTlsAgentOptions): Agent {
  return new Agent({
    connections: opts.connections,
    keepAliveTimeout: 30_000,
    ...(opts.keepAliveMaxTimeoutMs !== undefined ? { keepAliveMaxTimeout: opts.keepAliveMaxTimeoutMs } : {}),
    connectTimeout: Math.min(opts.timeoutMs, 3_000),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      minVersion: 'TLSv1.3',
      // An IP address is checked against the certificate's IP names; SNI carries host names only.
      servername: opts.url.hostname.match(/^[\d.]+$/) ? undefined : opts.url.hostname,
    },
  });
}
