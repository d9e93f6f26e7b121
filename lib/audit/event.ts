// The audit event every component emits (SP-21, PCI DSS 10.2). The schema refuses unknown
// fields, and `details` refuses keys that name secrets: an event can never carry a PAN, CVV,
// code, password or token, whatever a caller puts in it.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { uuidv7 } from '../uuidv7.js';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@+-]+$' });

export const AuditActor = Type.Object({
  type: Type.Union([Type.Literal('client'), Type.Literal('visitor'), Type.Literal('staff'), Type.Literal('merchant'), Type.Literal('system')]),
  id: Type.Optional(Id),
}, { additionalProperties: false });

export const AuditTargets = Type.Object({
  clientId: Type.Optional(Id),
  phone: Type.Optional(Type.String({ pattern: '^\\+7\\d{10}$' })),
  verificationId: Type.Optional(Id),
  passwordChangeId: Type.Optional(Id),
  sessionId: Type.Optional(Id),
  paymentId: Type.Optional(Id),
  cardId: Type.Optional(Id),
  cardToken: Type.Optional(Id),
  fingerprintPrefix: Type.Optional(Type.String({ pattern: '^[0-9a-f]{1,12}$' })),
  disputeId: Type.Optional(Id),
  refundId: Type.Optional(Id),
  keyVersion: Type.Optional(Type.Integer({ minimum: 0 })),
  merchantId: Type.Optional(Id),
  merchantKeyId: Type.Optional(Id),
  checkoutSessionId: Type.Optional(Id),
  webhookEndpointId: Type.Optional(Id),
  webhookDeliveryId: Type.Optional(Id),
}, { additionalProperties: false });

const DetailValue = Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean(), Type.Null()]);

export const FORBIDDEN_DETAIL_KEYS = /^(pan|cvv|cvc|cardnumber|number|password|currentpassword|newpassword|code|otp|token|sessiontoken|verificationtoken|secret|key)$/i;

export const AuditEventSchema = Type.Object({
  // A UUIDv7 by pattern (TypeBox's compiler knows no 'uuid' format unless one is registered).
  id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' }),
  occurredAt: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' }),
  component: Type.Union([Type.Literal('gateway'), Type.Literal('vault'), Type.Literal('audit-worker')]),
  actor: AuditActor,
  action: Type.String({ pattern: '^[a-z][a-z0-9_.]{2,63}$' }),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('refused')]),
  targets: AuditTargets,
  ip: Type.Optional(Type.String({ maxLength: 64 })),
  userAgent: Type.Optional(Type.String({ maxLength: 512 })),
  requestId: Type.Optional(Type.String({ maxLength: 128 })),
  details: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), DetailValue)),
}, { additionalProperties: false });

export type AuditEvent = Static<typeof AuditEventSchema>;

const compiled = TypeCompiler.Compile(AuditEventSchema);

export class InvalidAuditEvent extends Error {
  constructor(reason: string) {
    super(`invalid audit event: ${reason}`);
    this.name = 'InvalidAuditEvent';
  }
}

/** Throws unless `value` is a well-formed event free of secret-named fields. */
export function assertAuditEvent(value: unknown): asserts value is AuditEvent {
  if (!compiled.Check(value)) {
    const first = compiled.Errors(value).First();
    throw new InvalidAuditEvent(first ? `${first.path || '/'} ${first.message}` : 'schema mismatch');
  }
  for (const key of Object.keys(value.details ?? {})) {
    if (FORBIDDEN_DETAIL_KEYS.test(key)) throw new InvalidAuditEvent(`forbidden field details.${key}`);
  }
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'occurredAt'>;

/** Stamps id and time from the one clock the caller uses, then validates. */
export function makeAuditEvent(input: NewAuditEvent, at: Date): AuditEvent {
  const event = { id: uuidv7(at), occurredAt: at.toISOString(), ...input };
  assertAuditEvent(event);
  return event;
}
