// Wire shapes of authorizations, challenges and refunds (contracts B). Responses list exactly
// what may leave the vault: outcomes and references, never card data.
import { Type, type Static } from '@sinclair/typebox';
import { CardToken, ClientRef } from './tokens.schema.js';

const Ref = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@+-]+$' });

export const Money = Type.Object({
  value: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
}, { additionalProperties: false });

// The merchant's 3-D Secure preference, passed to the processor (processor.ts ThreeDsRequest). A
// preference only: the issuer's ACS may still challenge, or not.
export const ThreeDsRequest = Type.Object({
  challengeIndicator: Type.Union([
    Type.Literal('no_preference'), Type.Literal('challenge_requested'), Type.Literal('no_challenge_requested'),
  ]),
}, { additionalProperties: false });

export const AuthorizeBody = Type.Object({
  token: CardToken,
  clientRef: ClientRef,
  cvv: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })),
  amount: Money,
  merchant: Type.String({ minLength: 1, maxLength: 200 }),
  paymentRef: Ref,
  threeDS: Type.Optional(ThreeDsRequest),
}, { additionalProperties: false });
export type AuthorizeBody = Static<typeof AuthorizeBody>;

export const AuthorizationView = Type.Object({
  authorizationId: Type.String(),
  outcome: Type.Union([Type.Literal('approved'), Type.Literal('declined'), Type.Literal('challenge_required')]),
  declineReason: Type.Optional(Type.String()),
  challenge: Type.Optional(Type.Object({ ref: Type.String() })),
  threeDS: Type.Object({
    enrolled: Type.Boolean(),
    result: Type.Union([
      Type.Literal('frictionless'), Type.Literal('challenged'), Type.Literal('bypassed'), Type.Literal('failed'), Type.Null(),
    ]),
  }),
});
export type AuthorizationView = Static<typeof AuthorizationView>;

export const ChallengeParams = Type.Object({ ref: Ref });

export const ChallengeView = Type.Object({
  ref: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('passed'), Type.Literal('failed')]),
  amount: Type.Object({ value: Type.Integer(), currency: Type.String() }),
  merchant: Type.String(),
  last4: Type.String(),
});
export type ChallengeView = Static<typeof ChallengeView>;

export const CompleteChallengeBody = Type.Object({
  result: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
}, { additionalProperties: false });

export const RefundBody = Type.Object({
  authorizationId: Type.String({ format: 'uuid' }),
  amount: Money,
  refundRef: Ref,
}, { additionalProperties: false });
export type RefundBody = Static<typeof RefundBody>;

export const RefundView = Type.Object({
  refundId: Type.String(),
  status: Type.Literal('succeeded'),
});
export type RefundView = Static<typeof RefundView>;
