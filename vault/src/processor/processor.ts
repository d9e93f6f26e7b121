// What the vault needs from an acquirer. The sandbox implements it for development and tests; a
// real acquirer adapter implements the same three calls. Only the vault calls a Processor, so a
// clear PAN travels from vault memory to the acquirer and never back to the gateway.

export interface Money {
  value: number;
  currency: string;
}

export type ThreeDsResult = 'frictionless' | 'challenged' | 'bypassed' | 'failed';

export interface ProcessorOutcome {
  processorRef: string;
  outcome: 'approved' | 'declined' | 'challenge_required';
  declineReason?: string;
  threeDS: { enrolled: boolean; result: ThreeDsResult | null };
}

/** The merchant's 3-D Secure preference, for the acquirer's authentication request (EMV 3DS). */
export interface ThreeDsRequest {
  /** threeDSRequestorChallengeInd: 01 no_preference, 02 no_challenge_requested, 03 challenge_requested. */
  challengeIndicator: 'no_preference' | 'challenge_requested' | 'no_challenge_requested';
}

export interface AuthorizeRequest {
  pan: Buffer; // ASCII digits; the caller zeroes it afterwards
  expMonth: number;
  expYear: number;
  cvv: Buffer;
  amount: Money;
  merchant: string;
  paymentRef: string;
  threeDS: ThreeDsRequest;
}

export interface Processor {
  readonly name: string;
  authorize(request: AuthorizeRequest): Promise<ProcessorOutcome>;
  /**
   * The 3-D Secure challenge of an authorization that answered `challenge_required` is over:
   * finish that authorization (`processorRef` is the one it returned) and answer `approved` with
   * threeDS.result `challenged`, or `declined` with `failed`; never `challenge_required` again.
   * `passed` is what the ACS reported: with an acquirer, the issuer's ACS result as the acquirer's
   * notification carries it, never a caller's say-so (the vault's challenge routes exist only with
   * the sandbox). Called once per challenge (the vault records the first answer under the
   * challenge ref and replays it); an adapter that cannot reach the acquirer throws
   * ProcessorUnavailable and nothing is recorded, so the completion can be asked again.
   */
  completeChallenge(request: { processorRef: string; passed: boolean; amount: Money }): Promise<ProcessorOutcome>;
  /**
   * Refunds `amount` (≤ what is left of the approved authorization `processorRef`) and resolves
   * only once the acquirer accepted it. Must be idempotent on `refundRef`: the gateway retries a
   * refund it got no answer for with the same ref, and a repeat must not move money twice. An
   * unreachable acquirer throws ProcessorUnavailable; a refusal is an Error the vault answers 5xx.
   */
  refund(request: { processorRef: string; amount: Money; refundRef: string }): Promise<{ status: 'succeeded' }>;
}

/** The acquirer could not be reached or answered nonsense; nothing was authorized. */
export class ProcessorUnavailable extends Error {
  constructor(reason: string) {
    super(`processor unavailable: ${reason}`);
    this.name = 'ProcessorUnavailable';
  }
}
