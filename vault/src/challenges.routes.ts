// The sandbox ACS's side of a 3-D Secure challenge (SP-18): the gateway's sandbox page reads the
// challenge and reports the cardholder's answer. Registered only while the sandbox processor is
// in use (app.ts): with an acquirer the issuer's ACS authenticates the cardholder and the
// acquirer reports the result, so no caller may declare a challenge passed.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { completeChallenge, getChallenge } from './challenges.service.js';
import { AuthorizationView, ChallengeParams, ChallengeView, CompleteChallengeBody } from './authorizations.schema.js';

const errors = { 400: Problem, 404: Problem, 409: Problem, 422: Problem, 500: Problem, 503: Problem };

export const challengesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/challenges/:ref', {
    schema: { params: ChallengeParams, response: { 200: ChallengeView, ...errors } },
  }, async (request) => app.vaultCtx.metrics.observe('get_challenge', () => getChallenge(app.vaultCtx, request.params.ref)));

  app.post('/v1/challenges/:ref/complete', {
    schema: { params: ChallengeParams, body: CompleteChallengeBody, response: { 200: AuthorizationView, ...errors } },
  }, async (request) => app.vaultCtx.metrics.observe('complete_challenge',
    () => completeChallenge(app.vaultCtx, callerOf(request), request.params.ref, request.body.result === 'pass'), (view) => view.outcome));
};
