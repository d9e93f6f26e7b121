// SP-21: every request to an audited route leaves exactly one record of what was asked and how it
// ended. A route names its action in its config (`config: { audit: { action } }`); a service that
// records the request's events itself (recordAudit / AuditBatch with the request, in the
// transaction that makes the change) marks the request, and this hook then adds nothing. Every
// other ending (a read, a refusal decided before any service ran: validation, no session, a
// blocked client, rate limit, not found) is written here in ONE insert before the answer leaves:
// a request whose record cannot be written is answered 500, never served unrecorded.
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent } from '../../../lib/audit/event.js';
import type { GatewayContext } from '../context.js';
import { originOf, recordAudit, type AuditInput } from './record.js';
import { floodGuard } from './flood-guard.js';
import { problemBody } from '../errors.js';

type TargetKey = keyof AuditEvent['targets'];

export interface RouteAudit {
  /** The action recorded when no service recorded the request itself. */
  action: string;
  /** The target a route's `:id` param names (paymentId, cardId, disputeId…). */
  idTarget?: TargetKey;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: RouteAudit;
  }
}

const ID = /^[A-Za-z0-9._:@+-]{1,128}$/;

// What belonged to the answer being replaced; the security headers stay.
const ANSWER_HEADERS = ['location', 'retry-after', 'www-authenticate', 'idempotent-replayed', 'cache-control', 'content-disposition'];

function problemCode(reply: FastifyReply, payload: unknown): string | undefined {
  if (reply.statusCode < 400 || typeof payload !== 'string') return undefined;
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

export type ActorOf = (request: FastifyRequest) => AuditInput['actor'];

/** The client (or merchant) of a public request once authenticated; a visitor before. */
export const publicActor: ActorOf = (request) => {
  if (request.client) return { type: 'client', id: request.client.id };
  if (request.merchant) return { type: 'merchant', id: request.merchant.id };
  return { type: 'visitor' };
};

export function requestAuditInput(request: FastifyRequest, reply: FastifyReply, payload: unknown, route: RouteAudit, actorOf: ActorOf): AuditInput {
  const status = reply.statusCode;
  const code = problemCode(reply, payload);
  const targets: AuditEvent['targets'] = {};
  if (request.client) targets.clientId = request.client.id;
  if (request.merchant) targets.merchantId = request.merchant.id;
  const id = (request.params as Record<string, unknown> | undefined)?.['id'] ?? (request.params as Record<string, unknown> | undefined)?.['clientId'];
  if (route.idTarget && typeof id === 'string' && ID.test(id)) (targets as Record<string, string>)[route.idTarget] = id;
  return {
    actor: actorOf(request),
    action: route.action,
    outcome: status < 400 ? 'success' : status < 500 ? 'refused' : 'failure',
    targets,
    details: { status, ...(code ? { reason: code } : {}) },
  };
}

/** The answers a flood repeats without limit: a rate limit's 429 and load shedding's 503. */
function floodSource(status: number, reason: unknown): string | undefined {
  if (status === 429) return 'rl';
  if (status === 503 && reason === 'overloaded') return 'shed';
  return undefined;
}

/**
 * Installs the hook on an encapsulation context (the public or the staff app). A 429, or a 503 of
 * load shedding, is the answer to a flood: only the first one per client address and route in a
 * minute is recorded (floodGuard), the rest would record nothing the first does not, and a shed
 * request must not cost the database the write it was refused to spare.
 */
export default fp<{ ctx: GatewayContext; actorOf: ActorOf }>(async function requestAudit(app, opts) {
  const { ctx, actorOf } = opts;
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.config.audit;
    const origin = originOf(request);
    if (!route || origin.recorded) return payload;
    // Set first: if the write fails, the 500 it turns into passes here again and must not retry.
    origin.recorded = true;
    try {
      const input = requestAuditInput(request, reply, payload, route, actorOf);
      const flood = floodSource(reply.statusCode, input.details?.['reason']);
      if (flood && !(await floodGuard(ctx, `${flood}:${route.action}:${request.ip}`))) return payload;
      await recordAudit(ctx.db, ctx.clock, origin, input);
      return payload;
    } catch (err) {
      // The answer is replaced here rather than thrown: an error thrown by an onSend hook while an
      // error answer is being sent falls through to Fastify's default handler, which would put
      // the driver's message (addresses, database state) in the body.
      request.log.error({ err }, 'the audit record of this request could not be written: answered 500');
      for (const name of ANSWER_HEADERS) reply.removeHeader(name);
      reply.code(500).type('application/problem+json');
      return JSON.stringify(problemBody('internal_error', 'internal error'));
    }
  });
}, { name: 'request-audit' });
