// SP-21: the gateway's one way to record a client or staff action. Call it with the transaction
// that makes the change, so the event is stored if and only if the change is.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { makeAuditEvent, type AuditEvent, type NewAuditEvent } from '../../../lib/audit/event.js';
import { appendAuditEvent, appendAuditEvents } from '../../../lib/audit/outbox.js';
import type { Clock } from '../../../lib/clock.js';
import { clientIp } from '../plugins/client-ip.js';
import type {} from './request-audit.js';

/**
 * The request's events are on their way to the outbox: request-audit.ts then adds none of its own
 * (a request is recorded once, by whoever knows the most about it).
 */
export function markRecorded(request: FastifyRequest | undefined): void {
  if (request) request.auditRecorded = true;
}

export type AuditInput = Omit<NewAuditEvent, 'component' | 'ip' | 'userAgent' | 'requestId'>;

/** The request's origin fields for an audit event. */
export function requestOrigin(request: FastifyRequest): Pick<NewAuditEvent, 'ip' | 'userAgent' | 'requestId'> {
  const ua = request.headers['user-agent'];
  const ip = clientIp(request);
  return {
    ...(ip ? { ip } : {}),
    ...(typeof ua === 'string' ? { userAgent: ua.slice(0, 512) } : {}),
    requestId: String(request.id),
  };
}

function gatewayEvent(clock: Clock, request: FastifyRequest | undefined, input: AuditInput): AuditEvent {
  return makeAuditEvent({ component: 'gateway', ...input, ...(request ? requestOrigin(request) : {}) }, clock.now());
}

export async function recordAudit(
  db: Kysely<any>,
  clock: Clock,
  request: FastifyRequest | undefined,
  input: AuditInput,
): Promise<AuditEvent> {
  const event = gatewayEvent(clock, request, input);
  await appendAuditEvent(db, 'gateway', event);
  markRecorded(request);
  return event;
}

/**
 * The events of one transaction, written together by `flush` as its last statement: one round
 * trip instead of one per event. Flush with the transaction that makes the changes; events of a
 * transaction that throws before its flush are dropped along with its changes.
 */
export class AuditBatch {
  private readonly events: AuditEvent[] = [];

  constructor(private readonly clock: Clock, private readonly request: FastifyRequest | undefined) {}

  add(input: AuditInput): AuditEvent {
    const event = gatewayEvent(this.clock, this.request, input);
    this.events.push(event);
    return event;
  }

  async flush(db: Kysely<any>): Promise<void> {
    await appendAuditEvents(db, 'gateway', this.take());
  }

  /** Takes the events out, for a statement that writes them with its own change (moveStatusAudited). */
  take(): AuditEvent[] {
    if (this.events.length > 0) markRecorded(this.request);
    return this.events.splice(0);
  }
}
