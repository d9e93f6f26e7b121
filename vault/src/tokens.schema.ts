// Wire shapes of POST /v1/tokens (contracts B). The response schema is also the allow-list of
// what leaves the vault: no field can carry a PAN or CVV.
import { Type, type Static } from '@sinclair/typebox';

export const ClientRef = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@+-]+$' });
export const CardToken = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const TokenizeBody = Type.Object({
  pan: Type.String({ minLength: 1, maxLength: 40 }),
  expMonth: Type.Integer({ minimum: 0, maximum: 99 }),
  expYear: Type.Integer({ minimum: 0, maximum: 9999 }),
  cvv: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })),
  clientRef: ClientRef,
}, { additionalProperties: false });
export type TokenizeBody = Static<typeof TokenizeBody>;

export const Fingerprint = Type.String({ pattern: '^[0-9a-f]{64}$' });

// `fingerprint` is the active key version's; during a fingerprint key rotation `otherFingerprints`
// holds the same card under the ring's other version, so the gateway matches a card it stored
// under either (vault/README.md "Fingerprint key rotation"). Both are keyed HMACs.
export const TokenView = Type.Object({
  token: Type.String(),
  fingerprint: Fingerprint,
  fingerprintVersion: Type.Integer({ minimum: 1 }),
  otherFingerprints: Type.Array(Fingerprint, { maxItems: 1 }),
  brand: Type.String(),
  bin6: Type.String(),
  last4: Type.String(),
  issuerCountry: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
});
export type TokenView = Static<typeof TokenView>;

// DELETE /v1/tokens/{token}?clientRef=…: the client is named as in an authorization, so a token
// of another client is as unknown as a missing one.
export const DeleteTokenParams = Type.Object({ token: CardToken }, { additionalProperties: false });
export const DeleteTokenQuery = Type.Object({ clientRef: ClientRef }, { additionalProperties: false });
