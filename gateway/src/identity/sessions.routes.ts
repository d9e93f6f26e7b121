// SP-11 login, logout and the client's profile.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { recordAudit, originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { findClientById } from './clients.repository.js';
import { LoginBody, Profile, ProfileUpdate, SessionOpened } from './identity.schema.js';
import { setClientLanguage } from './profile.service.js';
import { login } from './login.service.js';
import { revokeSession } from './sessions.repository.js';
import { clearSessionCookies, requireSameOrigin, setSessionCookies, wantsCookieSession } from './browser-session.js';
import { requirePhone } from './verification.service.js';

const errors = { '4xx': Problem, '5xx': Problem };

const publicSessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/sessions', {
    config: { rateLimit: { max: app.ctx.config.identity.rateLimits.loginPerMinute, timeWindow: 60_000 }, audit: { action: 'session.login' } },
    schema: {
      ...operation({ id: 'login', summary: 'Log in with phone and password (three wrong passwords lock it for 15 minutes)', tags: ['Sessions'],
        errors: ['phone_invalid', 'invalid_credentials', 'login_locked', 'client_blocked', 'service_unavailable'] }),
      body: LoginBody, response: { 201: SessionOpened, ...errors },
    },
  }, async (request, reply) => {
    const phone = requirePhone(request.body.phone);
    // The pages' login: Origin first (login CSRF), and the token only in HttpOnly cookies.
    const cookie = wantsCookieSession(request);
    if (cookie) requireSameOrigin(request);
    const session = await login(app.ctx, originOf(request), phone, request.body.password);
    if (!cookie) return reply.code(201).send({ token: session.token, expiresAt: session.expiresAt.toISOString() });
    setSessionCookies(reply, session.token, session.expiresAt);
    return reply.code(201).send({ expiresAt: session.expiresAt.toISOString() });
  });
};

const clientSessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.delete('/v1/sessions/current', {
    config: { audit: { action: 'session.logout' } },
    schema: { ...operation({ id: 'logout', summary: 'End the current session', tags: ['Sessions'], auth: 'sessionToken' }), response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    const { ctx } = app;
    await ctx.db.transaction().execute(async (trx) => {
      await revokeSession(trx, request.client.sessionId, ctx.clock.now());
      await recordAudit(trx, ctx.clock, originOf(request), { actor: { type: 'client', id: request.client.id }, action: 'session.logout', outcome: 'success', targets: { clientId: request.client.id, sessionId: request.client.sessionId } });
    });
    if (request.cookieSession) clearSessionCookies(reply);
    return reply.code(204).send(null);
  });

  app.get('/v1/me', {
    config: { audit: { action: 'profile.read' } },
    schema: { ...operation({ id: 'getProfile', summary: 'The logged-in client\'s profile', tags: ['Sessions'], auth: 'sessionToken' }), response: { 200: Profile, ...errors } },
  }, async (request) => {
    const row = await findClientById(app.ctx.db, request.client.id);
    if (!row) throw new DomainError('unauthorized', 'the session is missing, expired or revoked');
    return { id: row.id, phone: row.phone, name: row.name, birthDate: row.birth_date, language: row.language, createdAt: row.created_at.toISOString() };
  });

  app.patch('/v1/me', {
    config: { audit: { action: 'profile.updated' } },
    schema: {
      ...operation({ id: 'updateProfile', summary: 'Change the language of the client\'s SMS texts (kk, ru or en)', tags: ['Sessions'], auth: 'sessionToken' }),
      body: ProfileUpdate, response: { 200: Profile, ...errors },
    },
  }, async (request) => {
    const row = await setClientLanguage(app.ctx, originOf(request), request.client.id, request.body.language);
    return { id: row.id, phone: row.phone, name: row.name, birthDate: row.birth_date, language: row.language, createdAt: row.created_at.toISOString() };
  });
};

const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(publicSessionRoutes);
  await app.register(clientSessionRoutes);
};

export default sessionRoutes;
