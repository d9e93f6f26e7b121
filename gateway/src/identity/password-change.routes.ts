// SP-8 / SP-10 password change for a logged-in client.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { ConfirmBody, IdParams, PasswordChangeBody, PasswordChangeStarted } from './identity.schema.js';
import { confirmPasswordChange, startPasswordChange } from './password-change.service.js';

const errors = { '4xx': Problem, '5xx': Problem };

const passwordChangeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate);

  app.post('/v1/password-changes', {
    config: { audit: { action: 'password_change.requested' } },
    schema: {
      ...operation({ id: 'startPasswordChange', summary: 'Start a password change; sends an SMS code', tags: ['Sessions'], auth: 'sessionToken',
        errors: ['password_incorrect', 'password_too_short', 'password_too_long', 'password_digits_only', 'password_too_common', 'password_contains_phone', 'service_unavailable'] }),
      body: PasswordChangeBody, response: { 202: PasswordChangeStarted, ...errors },
    },
  }, async (request, reply) => {
    const started = await startPasswordChange(app.ctx, originOf(request), request.client, request.body);
    return reply.code(202).send({ passwordChangeId: started.passwordChangeId, expiresAt: started.expiresAt.toISOString() });
  });

  app.post('/v1/password-changes/:id/confirm', {
    config: { audit: { action: 'password.changed', idTarget: 'passwordChangeId' } },
    schema: {
      ...operation({ id: 'confirmPasswordChange', summary: 'Finish a password change with its SMS code', tags: ['Sessions'], auth: 'sessionToken',
        errors: ['otp_invalid', 'otp_expired', 'otp_attempts_exceeded', 'not_found'] }),
      params: IdParams, body: ConfirmBody, response: { 204: Type.Null(), ...errors },
    },
  }, async (request, reply) => {
    await confirmPasswordChange(app.ctx, originOf(request), request.client, request.params.id, request.body.code);
    return reply.code(204).send(null);
  });
};

export default passwordChangeRoutes;
