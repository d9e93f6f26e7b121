// The contract's error codes (../shared/design.md) and the one handler that turns them into
// application/problem+json. Domain code throws DomainError; expected outcomes that are not
// errors (wrong OTP, locked login) are returned as unions and mapped to a DomainError at the route.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PROBLEM_FIELDS, problemOf } from '../../lib/problem.js';

export const ERROR_STATUS = {
  validation_failed: 400,
  phone_invalid: 400,
  password_too_short: 400,
  password_digits_only: 400,
  password_too_common: 400,
  password_too_long: 400,
  password_contains_phone: 400,
  otp_invalid: 400,
  otp_expired: 400,
  otp_attempts_exceeded: 400,
  verification_invalid: 400,
  birth_date_invalid: 400,
  password_incorrect: 400,
  card_invalid: 400,
  card_expired: 400,
  amount_out_of_range: 400,
  currency_not_supported: 400,
  provider_unknown: 400,
  provider_params_invalid: 400,
  return_url_not_allowed: 400,
  webhook_url_not_allowed: 400,
  invalid_credentials: 401,
  unauthorized: 401,
  api_key_invalid: 401,
  api_key_revoked: 401,
  api_key_expired: 401,
  client_blocked: 403,
  forbidden: 403,
  not_found: 404,
  idempotency_conflict: 409,
  payment_expired: 409,
  payment_not_confirmable: 409,
  dispute_exists: 409,
  conflict: 409,
  checkout_session_expired: 409,
  checkout_session_used: 409,
  phone_registered: 409,
  host_not_allowed: 421,
  card_not_kz: 422,
  card_limit_reached: 422,
  card_blocked: 422,
  card_removed: 422,
  cvv_required: 422,
  refund_not_allowed: 422,
  dispute_not_allowed: 422,
  unprocessable: 422,
  login_locked: 423,
  rate_limited: 429,
  internal_error: 500,
  vault_unavailable: 503,
  service_unavailable: 503,
  overloaded: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = 'DomainError';
    this.status = ERROR_STATUS[code];
  }
}

export const Problem = Type.Object({
  ...PROBLEM_FIELDS,
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

const TITLES: Partial<Record<ErrorCode, string>> = {
  validation_failed: 'Request is not valid',
  invalid_credentials: 'Phone or password is wrong',
  login_locked: 'Login is locked',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
  vault_unavailable: 'Card vault unavailable',
  overloaded: 'Gateway overloaded',
};

export function problemBody(code: ErrorCode, detail: string, extra: object = {}) {
  return { ...problemOf(code, ERROR_STATUS[code], detail, TITLES[code]), ...extra };
}

export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra: object = {}) {
  return reply.code(ERROR_STATUS[code]).type('application/problem+json').send(problemBody(code, detail, extra));
}

/** Installs the error and not-found handlers on an encapsulation context. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DomainError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof DomainError) {
      for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
      return sendProblem(reply, error.code, error.message);
    }
    if (error.validation) {
      const errors = error.validation.map((v) => ({
        path: v.instancePath || String(v.params?.missingProperty ?? '/'),
        message: v.message ?? 'invalid',
      }));
      return sendProblem(reply, 'validation_failed', `${error.validationContext ?? 'request'} is not valid`, { errors });
    }
    if (error.statusCode === 429) {
      return sendProblem(reply, 'rate_limited', 'too many requests; retry later');
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors (malformed JSON, wrong content type, body too large). Their
      // messages can quote the body (V8's JSON.parse does), so only the error code is echoed.
      return sendProblem(reply, 'validation_failed', `request could not be read (${String(error.code)})`);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'internal_error', 'internal error');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
}
