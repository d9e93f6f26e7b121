// Who is calling: the allow-listed client certificate's name (checked by app.ts before any route).
import type { FastifyRequest } from 'fastify';
import { peerIdentity } from '../../lib/mtls.js';
import type { Caller } from './audit.js';

// A kept-alive connection carries thousands of requests from one verified certificate: read
// its name once per connection, not once per request.
const identities = new WeakMap<object, string>();
// One Caller per request: whether an event names it (audit.ts) is what tells app.ts's last hook
// that the request is already on record.
const callers = new WeakMap<FastifyRequest, Caller>();

export function callerOf(request: FastifyRequest): Caller {
  let caller = callers.get(request);
  if (caller) return caller;
  const socket = request.raw.socket;
  let identity = identities.get(socket);
  if (identity === undefined) {
    identity = peerIdentity(request) ?? 'unknown';
    identities.set(socket, identity);
  }
  caller = { identity, ip: request.ip, requestId: String(request.id) };
  callers.set(request, caller);
  return caller;
}
