// SP-21: the gateway's one way to record a client or staff action. Call it with the transaction
// that makes the change, so the event is stored if and only if the change is.
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { makeAuditEvent, type AuditEvent, type NewAuditEvent } from '../../../lib/audit/event.js';
import { appendAuditEvent, appendAuditEvents } from '../../../lib/audit/outbox.js';
import type { Clock } from '../../../lib/clock.js';
import { clientIp } from '../plugins/client-ip.js';

/**
 * Where a request came from, for its audit events: a plain value the route takes from the request
 * and services pass on. `recorded` is set once an event of the request is on its way to the
 * outbox; request-audit.ts then adds none of its own (a request is recorded once, by whoever knows
 * the most about it).
 */
export interface RequestOrigin {
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId: string;
  recorded: boolean;
}

export type AuditInput = Omit<NewAuditEvent, 'component' | 'ip' | 'userAgent' | 'requestId'>;

const origins = new WeakMap<FastifyRequest, RequestOrigin>();

/** The request's origin, made once per request so every event of it shares one `recorded` flag. */
export function originOf(request: FastifyRequest): RequestOrigin;
/** No request (a sweep, a system step): no origin. */
export function originOf(request: FastifyRequest | undefined): RequestOrigin | undefined;
export function originOf(request: FastifyRequest | undefined): RequestOrigin | undefined {
  if (!request) return undefined;
  let origin = origins.get(request);
  if (!origin) {
    const ua = request.headers['user-agent'];
    const ip = clientIp(request);
    origin = {
      ...(ip ? { ip } : {}),
      ...(typeof ua === 'string' ? { userAgent: ua.slice(0, 512) } : {}),
      requestId: String(request.id),
      recorded: false,
    };
    origins.set(request, origin);
  }
  return origin;
}

function gatewayEvent(clock: Clock, origin: RequestOrigin | undefined, input: AuditInput): AuditEvent {
  const from = origin ? { ...(origin.ip ? { ip: origin.ip } : {}), ...(origin.userAgent ? { userAgent: origin.userAgent } : {}), requestId: origin.requestId } : {};
  return makeAuditEvent({ component: 'gateway', ...input, ...from }, clock.now());
}

function markRecorded(origin: RequestOrigin | undefined): void {
  if (origin) origin.recorded = true;
}

export async function recordAudit(
  db: Kysely<any>,
  clock: Clock,
  origin: RequestOrigin | undefined,
  input: AuditInput,
): Promise<AuditEvent> {
  const event = gatewayEvent(clock, origin, input);
  await appendAuditEvent(db, 'gateway', event);
  markRecorded(origin);
  return event;
}

/**
 * The events of one transaction, written together by `flush` as its last statement: one round
 * trip instead of one per event. Flush with the transaction that makes the changes; events of a
 * transaction that throws before its flush are dropped along with its changes.
 */
export class AuditBatch {
  private readonly events: AuditEvent[] = [];

  constructor(private readonly clock: Clock, private readonly origin: RequestOrigin | undefined) {}

  add(input: AuditInput): AuditEvent {
    const event = gatewayEvent(this.clock, this.origin, input);
    this.events.push(event);
    return event;
  }

  async flush(db: Kysely<any>): Promise<void> {
    await appendAuditEvents(db, 'gateway', this.take());
  }

  /** Takes the events out, for a statement that writes them with its own change (moveStatusAudited). */
  take(): AuditEvent[] {
    if (this.events.length > 0) markRecorded(this.origin);
    return this.events.splice(0);
  }
}
