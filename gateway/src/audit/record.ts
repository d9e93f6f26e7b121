// SP-21: the gateway's one way to record a client or staff action. Call it with the transaction
// that makes the change, so the event is stored if and only if the change is.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { makeAuditEvent, type AuditEvent, type NewAuditEvent } from '../../../lib/audit/event.js';
import { appendAuditEvent } from '../../../lib/audit/outbox.js';
import type { Clock } from '../../../lib/clock.js';

export type AuditInput = Omit<NewAuditEvent, 'component' | 'ip' | 'userAgent' | 'requestId'>;

/** The request's origin fields for an audit event. */
export function requestOrigin(request: FastifyRequest): Pick<NewAuditEvent, 'ip' | 'userAgent' | 'requestId'> {
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip,
    ...(typeof ua === 'string' ? { userAgent: ua.slice(0, 512) } : {}),
    requestId: String(request.id),
  };
}

export async function recordAudit(
  db: Kysely<any>,
  clock: Clock,
  request: FastifyRequest | undefined,
  input: AuditInput,
): Promise<AuditEvent> {
  const event = makeAuditEvent({ component: 'gateway', ...input, ...(request ? requestOrigin(request) : {}) }, clock.now());
  await appendAuditEvent(db, 'gateway', event);
  return event;
}
