// Contract A.1: `app.authenticate` checks `Authorization: Bearer <token>` (session and block in
// one query) and sets `request.client`. Routes opt in inside their own encapsulated plugin with
// `app.addHook('onRequest', app.authenticate)`.
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';
import { checkSession, type AuthenticatedClient } from './sessions.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
  }
  interface FastifyRequest {
    client: AuthenticatedClient;
  }
}

export default fp(async function authenticatePlugin(app) {
  app.decorateRequest('client', null as unknown as AuthenticatedClient);
  app.decorate('authenticate', async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null;
    if (!match) throw new DomainError('unauthorized', 'a session token is required', { 'www-authenticate': 'Bearer' });
    const result = await checkSession(app.ctx, match[1]!);
    if (!result.ok) {
      if (result.reason === 'client_blocked') throw new DomainError('client_blocked', 'access to this account is blocked by the bank');
      throw new DomainError('unauthorized', 'the session is missing, expired or revoked', { 'www-authenticate': 'Bearer' });
    }
    request.client = result.client;
  });
}, { name: 'authenticate' });
