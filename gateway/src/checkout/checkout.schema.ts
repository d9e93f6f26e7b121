// TypeBox schemas of the merchant API's checkout sessions, payments and refunds, and of the hosted
// page's calls (design.md, "Merchant API and hosted checkout"). Response schemas are also the
// allow-list of what leaves: no client, token or card data beyond brand and last 4.
import { Type, type Static } from '@sinclair/typebox';
import { CardChoice, Money, Uuid } from '../payments/payments.schema.js';

const Minor = Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Minor units: 150000 KZT is 1,500.00 ₸.' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217' });
const Timestamp = Type.String({ format: 'date-time' });
const Mode = Type.Union([Type.Literal('test'), Type.Literal('live')]);
const Url = Type.String({ minLength: 8, maxLength: 2000 });

export const SESSION_ID_PATTERN = '^cs_(test|live)_[A-Za-z0-9_-]{43}$';
export const SessionParams = Type.Object({ id: Type.String({ pattern: SESSION_ID_PATTERN }) });

export const CreateSessionBody = Type.Object({
  amount: Minor,
  currency: Currency,
  params: Type.Record(Type.String({ maxLength: 40 }), Type.String({ maxLength: 64 }), {
    maxProperties: 10, description: 'The provider\'s payment parameters (e.g. the phone number topped up), as GET /v1/providers lists them.',
  }),
  returnUrl: Type.String({ ...Url, description: 'https, on one of the merchant\'s return origins: where the customer goes after paying.' }),
  cancelUrl: Type.Optional(Type.String({ ...Url, description: 'https, on one of the merchant\'s return origins: where a customer who gives up goes.' })),
  expiresInMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 1440, description: '30 when not given.' })),
  reference: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x20-\\x7e]+$', description: 'The merchant\'s own order reference, shown back in the session, its payment and events.' })),
}, { additionalProperties: false });
export type CreateSessionBody = Static<typeof CreateSessionBody>;

export const SessionStatus = Type.Union([Type.Literal('open'), Type.Literal('complete'), Type.Literal('expired')]);

export const CheckoutSession = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'The hosted checkout page to send the customer to.' }),
  status: SessionStatus,
  mode: Mode,
  amount: Type.Integer(),
  currency: Type.String(),
  params: Type.Record(Type.String(), Type.String()),
  returnUrl: Type.String(),
  cancelUrl: Type.Union([Type.String(), Type.Null()]),
  reference: Type.Union([Type.String(), Type.Null()]),
  paymentId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  completedAt: Type.Union([Timestamp, Type.Null()]),
}, { title: 'CheckoutSession' });

export const PublicCheckoutSession = Type.Object({
  id: Type.String(),
  merchant: Type.Object({ name: Type.String() }),
  amount: Money,
  status: SessionStatus,
  returnUrl: Type.String(),
  cancelUrl: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Timestamp,
}, { title: 'PublicCheckoutSession' });

export const PaySessionBody = Type.Object({ card: CardChoice }, { additionalProperties: false });

export const MerchantPayment = Type.Object({
  id: Type.String(),
  status: Type.String(),
  mode: Mode,
  amount: Type.Integer(),
  currency: Type.String(),
  refundedAmount: Type.Integer(),
  checkoutSessionId: Type.String(),
  reference: Type.Union([Type.String(), Type.Null()]),
  card: Type.Object({ brand: Type.String(), last4: Type.String() }),
  threeDS: Type.Union([
    Type.Object({ enrolled: Type.Boolean(), result: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
  declineReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
}, { title: 'MerchantPayment' });

export const MerchantPaymentList = Type.Object({
  data: Type.Array(MerchantPayment),
  hasMore: Type.Boolean(),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `startingAfter` for the next (older) page; null on the last.' }),
}, { title: 'MerchantPaymentList' });

export const MerchantPaymentsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  startingAfter: Type.Optional(Uuid),
});

export const PaymentIdParams = Type.Object({ id: Uuid });

export const MerchantRefundBody = Type.Object({
  paymentId: Uuid,
  amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, description: 'Minor units; all that is left when not given.' })),
}, { additionalProperties: false });

export const MerchantRefund = Type.Object({
  id: Type.String(),
  paymentId: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
}, { title: 'MerchantRefund' });
