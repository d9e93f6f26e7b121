// SP-5 routes: phone verification, registration, forgotten-password reset (visitor side).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import {
  ConfirmBody, IdParams, PasswordResetBody, Registered, RegistrationBody, StartVerificationBody,
  VerificationConfirmed, VerificationStarted,
} from './identity.schema.js';
import { register, resetPassword } from './registration.service.js';
import { confirmPhone, startVerification } from './verification.service.js';

const errors = { '4xx': Problem, '5xx': Problem };

const verificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const perMinute = app.ctx.config.identity.rateLimits.verificationPerMinute;
  const limited = { rateLimit: { max: perMinute, timeWindow: 60_000 } };

  app.post('/v1/verifications', {
    config: { ...limited, audit: { action: 'otp.sent' } },
    schema: { body: StartVerificationBody, response: { 202: VerificationStarted, ...errors } },
  }, async (request, reply) => {
    const purpose = request.body.purpose ?? 'verification';
    const started = await startVerification(app.ctx, originOf(request), request.body.phone, purpose);
    // Sent and verified counts per purpose, for the SMS-pumping alarm (sent-to-verified ratio).
    request.log.info({ sms: 'otp_sent', purpose }, 'verification code sent');
    return reply.code(202).send({ verificationId: started.verificationId, expiresAt: started.expiresAt.toISOString() });
  });

  app.post('/v1/verifications/:id/confirm', {
    config: { ...limited, audit: { action: 'verification.confirmed', idTarget: 'verificationId' } },
    schema: { params: IdParams, body: ConfirmBody, response: { 200: VerificationConfirmed, ...errors } },
  }, async (request) => {
    const { verificationToken, registered, purpose } = await confirmPhone(app.ctx, originOf(request), request.params.id, request.body.code);
    request.log.info({ sms: 'otp_verified', purpose }, 'verification code confirmed');
    return { verificationToken, registered };
  });

  app.post('/v1/registrations', {
    config: { ...limited, audit: { action: 'client.registered' } },
    schema: { body: RegistrationBody, response: { 201: Registered, ...errors } },
  }, async (request, reply) => reply.code(201).send(await register(app.ctx, originOf(request), request.body)));

  app.post('/v1/password-resets', {
    config: { ...limited, audit: { action: 'password.reset' } },
    schema: { body: PasswordResetBody, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await resetPassword(app.ctx, originOf(request), request.body);
    return reply.code(204).send(null);
  });
};

export default verificationRoutes;
