// Contract A.1: `app.authenticate` checks `Authorization: Bearer <token>` or, for the bank's
// pages, the `__Host-` session cookie with its CSRF rules (browser-session.ts), checks the
// session and block in one query, and sets `request.client`. A Bearer header decides alone: an
// API call is never authenticated by a cookie the browser happened to send. Routes opt in inside
// their own encapsulated plugin with `app.addHook('onRequest', app.authenticate)`.
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';
import { checkCookieRequest, SESSION_COOKIE } from './browser-session.js';
import { checkSession, type AuthenticatedClient } from './sessions.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
  }
  interface FastifyRequest {
    client: AuthenticatedClient;
    /** The session came from the pages' cookie (logout then clears it). */
    cookieSession: boolean;
  }
}

function sessionToken(request: FastifyRequest): { token: string; cookie: boolean } | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null;
    return match ? { token: match[1]!, cookie: false } : undefined;
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie === undefined || cookie === '' || cookie.length > 256) return undefined;
  checkCookieRequest(request, cookie);
  return { token: cookie, cookie: true };
}

export default fp(async function authenticatePlugin(app) {
  app.decorateRequest('client', null as unknown as AuthenticatedClient);
  app.decorateRequest('cookieSession', false);
  app.decorate('authenticate', async function authenticate(request: FastifyRequest): Promise<void> {
    const found = sessionToken(request);
    if (!found) throw new DomainError('unauthorized', 'a session token is required', { 'www-authenticate': 'Bearer' });
    const result = await checkSession(app.ctx, found.token);
    if (!result.ok) {
      if (result.reason === 'client_blocked') throw new DomainError('client_blocked', 'access to this account is blocked by the bank');
      throw new DomainError('unauthorized', 'the session is missing, expired or revoked', { 'www-authenticate': 'Bearer' });
    }
    request.client = result.client;
    request.cookieSession = found.cookie;
  });
}, { name: 'authenticate', dependencies: ['@fastify/cookie'] });
