// SP-11, SP-5, SP-17: the client IP that rate limits, SMS caps, sessions and the audit record use.
// Fastify resolves it from X-Forwarded-For through the configured proxies only (TRUST_PROXY), but
// the hop it stops at is whatever text that hop holds; a value that is not an IP literal would
// become a limit key of the client's choosing, or an audit field the schema refuses (which would
// abort the transaction counting a wrong password). Such a header is dropped before anything
// reads the IP, so request.ip falls back to the socket's peer address.
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** An IPv4 or IPv6 literal without a zone index (at most 45 characters). */
export function isIpLiteral(value: unknown): value is string {
  return typeof value === 'string' && isIP(value) !== 0 && !value.includes('%');
}

/** The request's client IP when it is an IP literal; the socket's peer address otherwise. */
export function clientIp(request: FastifyRequest): string | undefined {
  if (isIpLiteral(request.ip)) return request.ip;
  const peer = request.raw.socket?.remoteAddress;
  return isIpLiteral(peer) ? peer : undefined;
}

/** Fastify's `trustProxy` for the public listener: the listed proxies, or no one. */
export function trustProxyOption(proxies: readonly string[]): string[] | false {
  return proxies.length ? [...proxies] : false;
}

export default fp(async function validatedClientIp(app) {
  app.addHook('onRequest', async (request) => {
    if (!isIpLiteral(request.ip)) delete request.raw.headers['x-forwarded-for'];
  });
}, { name: 'client-ip' });
