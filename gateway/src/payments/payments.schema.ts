// TypeBox schemas of the payment calls (design.md). Response schemas are also the allow-list of
// what leaves: a token, fingerprint, PAN or CVV is never in them (SP-16).
import { Type, type Static } from '@sinclair/typebox';

export const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });

export const Money = Type.Object({
  value: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
}, { additionalProperties: false, title: 'Money', description: 'An amount in minor units with its ISO 4217 currency: {"value": 150000, "currency": "KZT"} is 1,500.00 ₸.' });

// One object rather than a union: ajv's removeAdditional would strip a union's second branch.
// The service requires either cardId alone, or number + expMonth + expYear + cvv.
export const CardChoice = Type.Object({
  cardId: Type.Optional(Uuid),
  number: Type.Optional(Type.String({ pattern: '^[0-9]{12,19}$' })),
  expMonth: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
  expYear: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2100 })),
  cvv: Type.Optional(Type.String({ pattern: '^[0-9]{3,4}$' })),
}, { additionalProperties: false, title: 'CardChoice', description: 'A saved card (`cardId` alone) or a new one (`number`, `expMonth`, `expYear`, `cvv`).' });

export const CreatePaymentBody = Type.Object({
  providerId: Type.String({ minLength: 1, maxLength: 40 }),
  amount: Money,
  params: Type.Record(Type.String({ maxLength: 40 }), Type.String({ maxLength: 64 }), { maxProperties: 10 }),
  card: CardChoice,
}, { additionalProperties: false });
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$',
    description: 'A key of your choosing: a retry with the same key and request is answered once (kept 24 hours).',
  })),
});

export const ConfirmBody = Type.Object({
  code: Type.String({ pattern: '^[0-9]{6}$' }),
  // Optional for every card (SP-14.2): a saved card is charged on file without it; it is needed
  // (422 cvv_required) only by a saved card with no approved payment yet, and goes straight to the vault.
  cvv: Type.Optional(Type.String({ pattern: '^[0-9]{3,4}$' })),
}, { additionalProperties: false });

export const PaymentParams = Type.Object({ id: Uuid });

export const ThreeDsView = Type.Union([
  Type.Object({
    enrolled: Type.Boolean(),
    result: Type.Union([Type.Literal('frictionless'), Type.Literal('challenged'), Type.Literal('bypassed'), Type.Literal('failed'), Type.Null()]),
  }),
  Type.Null(),
]);

export const PaymentView = Type.Object({
  id: Type.String(),
  status: Type.String(),
  amount: Type.Object({ value: Type.Integer(), currency: Type.String() }),
  provider: Type.Object({ id: Type.String(), name: Type.String() }),
  params: Type.Record(Type.String(), Type.String()),
  card: Type.Object({ id: Type.String(), brand: Type.String(), last4: Type.String() }),
  threeDS: ThreeDsView,
  declineReason: Type.Optional(Type.String()),
  refundedAmount: Type.Integer(),
  nextAction: Type.Optional(Type.Object({ type: Type.Literal('redirect_to_url'), url: Type.String() })),
  expiresAt: Type.String(),
  createdAt: Type.String(),
}, { title: 'Payment' });
export type PaymentView = Static<typeof PaymentView>;

export const PaymentList = Type.Object({ data: Type.Array(PaymentView), nextBefore: Type.Union([Type.String(), Type.Null()]) }, { title: 'PaymentList' });

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  before: Type.Optional(Uuid),
});
