// Typed calls to the vault's API (contracts.md B) over ctx.vault (mutual TLS, SP-4). The vault's
// problem codes become the gateway's contract codes here, and a vault that cannot be reached
// (or answers 5xx) becomes 503 vault_unavailable. A PAN or CVV passes through these functions
// inside one request and is never kept, logged or echoed (SP-16).
import { VaultUnavailable, type VaultClient } from '../../../lib/vault-client.js';
import type { Secret } from '../../../lib/secret.js';
import { DomainError, type ErrorCode } from '../errors.js';
import type { ThreeDsResult } from './payments.table.js';

export interface Money {
  value: number;
  currency: string;
}

export interface TokenizedCard {
  token: string;
  /** The vault's keyed fingerprint under its active key version. */
  fingerprint: string;
  fingerprintVersion: number;
  /** The same card under the vault's other key version, during a fingerprint key rotation only. */
  otherFingerprints: string[];
  brand: string;
  bin6: string;
  last4: string;
  issuerCountry: string;
  expMonth: number;
  expYear: number;
}

export interface AuthorizationResult {
  authorizationId: string;
  outcome: 'approved' | 'declined' | 'challenge_required';
  declineReason?: string;
  challenge?: { ref: string };
  threeDS: { enrolled: boolean; result: ThreeDsResult | null };
}

/** The merchant's 3-D Secure preference (EMV 3DS challenge indicator); the vault's default is no_preference. */
export interface ThreeDsRequest {
  challengeIndicator: 'no_preference' | 'challenge_requested' | 'no_challenge_requested';
}

export interface Challenge {
  ref: string;
  status: 'pending' | 'passed' | 'failed';
  amount: Money;
  merchant: string;
  last4: string;
}

// The vault codes a client may see as they are; anything else it refuses is our own fault.
const PASSED_THROUGH: Partial<Record<string, ErrorCode>> = {
  card_invalid: 'card_invalid',
  card_expired: 'card_expired',
  card_not_kz: 'card_not_kz',
  cvv_required: 'cvv_required',
};

const DETAILS: Partial<Record<ErrorCode, string>> = {
  card_invalid: 'the card number, expiry or CVV is not valid',
  card_expired: 'the card has expired',
  card_not_kz: 'only cards issued in Kazakhstan are accepted (SP-15.1)',
  cvv_required: 'enter the card\'s CVV to confirm this payment',
};

export class VaultRefusal extends Error {
  constructor(readonly status: number, readonly code: string) {
    super(`vault refused the call: ${status} ${code}`);
    this.name = 'VaultRefusal';
  }
}

async function call<T>(vault: VaultClient, method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, ok: number): Promise<T> {
  let res;
  try {
    res = await vault.call<T & { code?: string }>(method, path, body);
  } catch (err) {
    // The cause (a transport error code or the vault's 5xx status) is for the logs, not the client.
    if (err instanceof VaultUnavailable) throw new DomainError('vault_unavailable', 'the card vault is unavailable; try again shortly', { 'retry-after': '5' }, { cause: err });
    throw err;
  }
  if (res.status === ok) return res.body;
  const code = typeof res.body?.code === 'string' ? res.body.code : 'unknown';
  throw new VaultRefusal(res.status, code);
}

/** Maps a refusal the client caused to its contract code; other refusals stay internal errors. */
export function clientFacing(err: unknown): never {
  if (err instanceof VaultRefusal) {
    const code = PASSED_THROUGH[err.code];
    if (code) throw new DomainError(code, DETAILS[code] ?? code);
  }
  throw err;
}

export interface CardInput {
  number: Secret<string>;
  expMonth: number;
  expYear: number;
  cvv: Secret<string>;
}

export async function tokenize(vault: VaultClient, card: CardInput, clientRef: string): Promise<TokenizedCard> {
  return call<TokenizedCard>(vault, 'POST', '/v1/tokens', {
    pan: card.number.expose(),
    expMonth: card.expMonth,
    expYear: card.expYear,
    cvv: card.cvv.expose(),
    clientRef,
  }, 201).catch(clientFacing);
}

/**
 * Without `cvv`, a saved card is charged on file (SP-14.2) and the vault refuses `cvv_required`
 * only if the card has no approved first payment; with it, the CVV is checked again.
 */
export async function authorize(vault: VaultClient, input: {
  token: string; clientRef: string; cvv?: Secret<string>; amount: Money; merchant: string; paymentRef: string; threeDS?: ThreeDsRequest;
}): Promise<AuthorizationResult> {
  return call<AuthorizationResult>(vault, 'POST', '/v1/authorizations', {
    token: input.token,
    clientRef: input.clientRef,
    ...(input.cvv ? { cvv: input.cvv.expose() } : {}),
    amount: input.amount,
    merchant: input.merchant,
    paymentRef: input.paymentRef,
    ...(input.threeDS ? { threeDS: input.threeDS } : {}),
  }, 200);
}

export async function getChallenge(vault: VaultClient, ref: string): Promise<Challenge> {
  return call<Challenge>(vault, 'GET', `/v1/challenges/${encodeURIComponent(ref)}`, undefined, 200);
}

export async function completeChallenge(vault: VaultClient, ref: string, result: 'pass' | 'fail'): Promise<AuthorizationResult> {
  return call<AuthorizationResult>(vault, 'POST', `/v1/challenges/${encodeURIComponent(ref)}/complete`, { result }, 200);
}

export async function refund(vault: VaultClient, input: { authorizationId: string; amount: Money; refundRef: string }): Promise<{ refundId: string; status: 'succeeded' }> {
  return call(vault, 'POST', '/v1/refunds', input, 201);
}

/**
 * Asks the vault to delete a card's data (SP-16 retention). Idempotent there: a card already
 * deleted answers 204 again. An unknown token is a VaultRefusal `token_unknown` (nothing to delete).
 */
export async function deleteToken(vault: VaultClient, token: string, clientRef: string): Promise<void> {
  await call<undefined>(vault, 'DELETE', `/v1/tokens/${encodeURIComponent(token)}?clientRef=${encodeURIComponent(clientRef)}`, undefined, 204);
}

export interface FingerprintTranslation {
  from: string;
  to: string;
}

/** A page of the vault's previous → current fingerprint pairs after `after`, during a fingerprint key rotation. */
export async function fingerprintTranslations(vault: VaultClient, after: string | undefined, limit: number): Promise<FingerprintTranslation[]> {
  const query = new URLSearchParams({ limit: String(limit), ...(after ? { after } : {}) });
  const page = await call<{ data: FingerprintTranslation[] }>(vault, 'GET', `/v1/fingerprints/translations?${query}`, undefined, 200);
  return page.data;
}
