// POST /v1/tokens (contracts B). Thin: schemas, caller identity, then the service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { tokenize } from './tokens.service.js';
import { TokenizeBody, TokenView } from './tokens.schema.js';

export const tokensRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/tokens', {
    schema: { body: TokenizeBody, response: { 201: TokenView, 400: Problem, 422: Problem, 500: Problem } },
  }, async (request, reply) => {
    const view = await tokenize(app.vaultCtx, callerOf(request), request.body);
    return reply.code(201).send(view);
  });
};
