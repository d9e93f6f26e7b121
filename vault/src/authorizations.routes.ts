// Authorizations, 3-D Secure challenges and refunds (contracts B). Thin: schemas and services.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { authorize } from './authorizations.service.js';
import { completeChallenge, getChallenge } from './challenges.service.js';
import { refund } from './refunds.service.js';
import {
  AuthorizationView, AuthorizeBody, ChallengeParams, ChallengeView, CompleteChallengeBody, RefundBody, RefundView,
} from './authorizations.schema.js';

const errors = { 400: Problem, 404: Problem, 409: Problem, 422: Problem, 500: Problem, 503: Problem };

export const authorizationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/authorizations', {
    schema: { body: AuthorizeBody, response: { 200: AuthorizationView, ...errors } },
  }, async (request) => authorize(app.vaultCtx, callerOf(request), request.body));

  app.get('/v1/challenges/:ref', {
    schema: { params: ChallengeParams, response: { 200: ChallengeView, ...errors } },
  }, async (request) => getChallenge(app.vaultCtx, request.params.ref));

  app.post('/v1/challenges/:ref/complete', {
    schema: { params: ChallengeParams, body: CompleteChallengeBody, response: { 200: AuthorizationView, ...errors } },
  }, async (request) => completeChallenge(app.vaultCtx, callerOf(request), request.params.ref, request.body.result === 'pass'));

  app.post('/v1/refunds', {
    schema: { body: RefundBody, response: { 201: RefundView, ...errors } },
  }, async (request, reply) => reply.code(201).send(await refund(app.vaultCtx, callerOf(request), request.body)));
};
