// How a route describes itself in the OpenAPI document (gateway/src/plugins/openapi.ts): spread
// `operation({...})` into the route's `schema`. Fastify ignores these keys; @fastify/swagger reads
// them. Only the codes particular to the route are listed: the ones every route of its kind can
// answer (validation_failed where it takes input, the session's or the key's 401/403, 421, 429,
// 500) are added by the document itself (openapi-responses.ts), from `auth` and the request schemas.
import type { ErrorCode } from '../errors.js';

/** The security schemes of the document (components.securitySchemes). */
export const SECURITY_SCHEMES = {
  sessionToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'A client session: the `token` of `POST /v1/sessions`.',
  },
  merchantKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'sk_test_… / sk_live_…',
    description: 'A merchant secret key, created by the bank\'s staff and shown once.',
  },
} as const;

export type SecurityScheme = keyof typeof SECURITY_SCHEMES;

declare module 'fastify' {
  interface FastifySchema {
    /** The problem+json codes particular to this route (see openapi-operation.ts). */
    'x-error-codes'?: readonly ErrorCode[];
  }
}

export interface OperationDoc {
  /** Unique across the document: the typed client's and a merchant's name for the call. */
  id: string;
  summary: string;
  tags: readonly string[];
  description?: string;
  /**
   * What the route's plugin authenticates with: `app.authenticate` is 'sessionToken',
   * `app.authenticateMerchant` is 'merchantKey' (the OpenAPI test calls every route without
   * credentials and fails when this does not match what it answers).
   */
  auth?: SecurityScheme;
  errors?: readonly ErrorCode[];
}

export function operation(doc: OperationDoc) {
  return {
    operationId: doc.id,
    summary: doc.summary,
    tags: doc.tags,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.auth ? { security: [{ [doc.auth]: [] as string[] }] } : {}),
    'x-error-codes': doc.errors ?? [],
  };
}
