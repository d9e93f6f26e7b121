// POST /v1/tokens and DELETE /v1/tokens/{token} (contracts B). Thin: schemas, caller identity, then the service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { tokenize } from './tokens.service.js';
import { deleteClientCard } from './retention.js';
import { DeleteTokenParams, DeleteTokenQuery, TokenizeBody, TokenView } from './tokens.schema.js';

export const tokensRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/tokens', {
    schema: { body: TokenizeBody, response: { 201: TokenView, 400: Problem, 422: Problem, 500: Problem } },
  }, async (request, reply) => {
    const view = await app.vaultCtx.metrics.observe('tokenize', () => tokenize(app.vaultCtx, callerOf(request), request.body));
    return reply.code(201).send(view);
  });

  // SP-16 retention: the gateway deletes a card the client removed. Idempotent (204 again).
  app.delete('/v1/tokens/:token', {
    schema: { params: DeleteTokenParams, querystring: DeleteTokenQuery, response: { 204: Type.Null(), 400: Problem, 404: Problem, 500: Problem } },
  }, async (request, reply) => {
    await app.vaultCtx.metrics.observe('delete_token', () => deleteClientCard(app.vaultCtx, callerOf(request), request.params.token, request.query.clientRef));
    return reply.code(204).send(null);
  });
};
