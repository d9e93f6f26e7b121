// SP-5 routes: phone verification, registration, forgotten-password reset (visitor side).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
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
    schema: {
      ...operation({ id: 'startVerification', summary: 'Send an SMS code to a phone (registration or password reset)', tags: ['Identity'],
        errors: ['phone_invalid', 'service_unavailable'] }),
      body: StartVerificationBody, response: { 202: VerificationStarted, ...errors },
    },
  }, async (request, reply) => {
    const purpose = request.body.purpose ?? 'verification';
    const started = await startVerification(app.ctx, originOf(request), request.body.phone, purpose, request.body.language);
    // Sent and verified counts per purpose, for the SMS-pumping alarm (sent-to-verified ratio).
    request.log.info({ sms: 'otp_sent', purpose }, 'verification code sent');
    return reply.code(202).send({ verificationId: started.verificationId, expiresAt: started.expiresAt.toISOString() });
  });

  app.post('/v1/verifications/:id/confirm', {
    config: { ...limited, audit: { action: 'verification.confirmed', idTarget: 'verificationId' } },
    schema: {
      ...operation({ id: 'confirmVerification', summary: 'Prove the phone with its SMS code', tags: ['Identity'], errors: ['otp_invalid', 'otp_expired', 'otp_attempts_exceeded'] }),
      params: IdParams, body: ConfirmBody, response: { 200: VerificationConfirmed, ...errors },
    },
  }, async (request) => {
    const { verificationToken, registered, purpose } = await confirmPhone(app.ctx, originOf(request), request.params.id, request.body.code);
    request.log.info({ sms: 'otp_verified', purpose }, 'verification code confirmed');
    return { verificationToken, registered };
  });

  app.post('/v1/registrations', {
    config: { ...limited, audit: { action: 'client.registered' } },
    schema: {
      ...operation({ id: 'register', summary: 'Register a client with a verified phone', tags: ['Identity'],
        errors: ['verification_invalid', 'phone_registered', 'birth_date_invalid', 'password_too_short', 'password_too_long', 'password_digits_only', 'password_too_common', 'password_contains_phone', 'service_unavailable'] }),
      body: RegistrationBody, response: { 201: Registered, ...errors },
    },
  }, async (request, reply) => reply.code(201).send(await register(app.ctx, originOf(request), request.body)));

  app.post('/v1/password-resets', {
    config: { ...limited, audit: { action: 'password.reset' } },
    schema: {
      ...operation({ id: 'resetPassword', summary: 'Set a new password with a password_reset verification and the birth date', tags: ['Identity'],
        errors: ['verification_invalid', 'invalid_credentials', 'birth_date_invalid', 'password_too_short', 'password_too_long', 'password_digits_only', 'password_too_common', 'password_contains_phone', 'service_unavailable'] }),
      body: PasswordResetBody, response: { 204: Type.Null(), ...errors },
    },
  }, async (request, reply) => {
    await resetPassword(app.ctx, originOf(request), request.body);
    return reply.code(204).send(null);
  });
};

export default verificationRoutes;
