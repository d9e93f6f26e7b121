// Who is calling: the allow-listed client certificate's name (checked by app.ts before any route).
import type { FastifyRequest } from 'fastify';
import { peerIdentity } from '../../lib/mtls.js';
import type { Caller } from './audit.js';

// A kept-alive connection carries thousands of requests from one verified certificate: read
// its name once per connection, not once per request.
const identities = new WeakMap<object, string>();

export function callerOf(request: FastifyRequest): Caller {
  const socket = request.raw.socket;
  let identity = identities.get(socket);
  if (identity === undefined) {
    identity = peerIdentity(request) ?? 'unknown';
    identities.set(socket, identity);
  }
  return { identity, ip: request.ip, requestId: String(request.id) };
}
