// The vault's closed set of error codes (contracts B) and the one handler that answers them as
// application/problem+json. Details never carry card data; a 5xx says only "internal error"
// and the cause (a KeyError names the key version, never key bytes) goes to the log.
import type { FastifyError, FastifyInstance } from 'fastify';
import { Problem, problemOf } from '../../lib/problem.js';
import { DecryptionFailed } from './crypto/encryption.js';
import { KeyError } from './crypto/key-provider.js';
import { ProcessorUnavailable } from './processor/processor.js';

export const VAULT_ERROR_STATUS = {
  validation_failed: 400,
  card_invalid: 400,
  card_expired: 400,
  token_unknown: 404,
  challenge_unknown: 404,
  authorization_unknown: 404,
  not_found: 404,
  idempotency_conflict: 409,
  card_deleted: 410,
  card_not_kz: 422,
  cvv_required: 422,
  refund_not_allowed: 422,
  internal_error: 500,
  processor_unavailable: 503,
} as const;

export type VaultErrorCode = keyof typeof VAULT_ERROR_STATUS;

export class VaultError extends Error {
  readonly status: number;
  constructor(readonly code: VaultErrorCode, detail: string) {
    super(detail);
    this.name = 'VaultError';
    this.status = VAULT_ERROR_STATUS[code];
  }
}

export { Problem };

/** The code a service's error is answered with by the handler below (what its audit event records). */
export function problemCode(err: unknown): VaultErrorCode {
  if (err instanceof VaultError) return err.code;
  if (err instanceof ProcessorUnavailable) return 'processor_unavailable';
  return 'internal_error';
}


export function problem(code: VaultErrorCode, detail: string) {
  return problemOf(code, VAULT_ERROR_STATUS[code], detail);
}

/** Problem responses for every error; never echoes input (validation messages name paths only). */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    let body;
    if (err instanceof VaultError) {
      body = problem(err.code, err.message);
    } else if ((err as FastifyError).validation) {
      const paths = ((err as FastifyError).validation ?? []).map((v) => v.instancePath || '/').join(', ');
      body = problem('validation_failed', `invalid request fields: ${paths}`);
    } else if ((err as FastifyError).statusCode && (err as FastifyError).statusCode! < 500) {
      // Unreadable body: not JSON, too large, wrong media type. The cause is never echoed.
      body = { ...problem('validation_failed', 'the request body could not be read as JSON'), status: (err as FastifyError).statusCode! };
    } else if (err instanceof ProcessorUnavailable) {
      request.log.error({ err }, 'processor unavailable');
      body = problem('processor_unavailable', 'the card processor is unavailable; nothing was authorized');
    } else {
      // KeyError and DecryptionFailed are refusals to go on without the right key (fail closed).
      const kind = err instanceof KeyError || err instanceof DecryptionFailed ? 'vault key failure' : 'vault internal error';
      request.log.error({ err: { name: err.name, message: err.message, stack: err.stack } }, kind);
      body = problem('internal_error', 'internal error');
    }
    return reply.code(body.status).type('application/problem+json').send(body);
  });
}
