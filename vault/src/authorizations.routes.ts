// Authorizations and refunds (contracts B). Thin: schemas and services. The sandbox's 3-D Secure
// challenge routes are in challenges.routes.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { authorize } from './authorizations.service.js';
import { refund } from './refunds.service.js';
import { AuthorizationView, AuthorizeBody, RefundBody, RefundView } from './authorizations.schema.js';

const errors = { 400: Problem, 404: Problem, 409: Problem, 422: Problem, 500: Problem, 503: Problem };

export const authorizationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/authorizations', {
    schema: { body: AuthorizeBody, response: { 200: AuthorizationView, ...errors } },
  }, async (request) => app.vaultCtx.metrics.observe('authorize', () => authorize(app.vaultCtx, callerOf(request), request.body), (view) => view.outcome));

  app.post('/v1/refunds', {
    schema: { body: RefundBody, response: { 201: RefundView, ...errors } },
  }, async (request, reply) => reply.code(201).send(await app.vaultCtx.metrics.observe('refund', () => refund(app.vaultCtx, callerOf(request), request.body))));
};
