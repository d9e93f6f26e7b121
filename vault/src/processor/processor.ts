// What the vault needs from an acquirer. The sandbox implements it for development and tests; a
// real acquirer adapter implements the same three calls. Only the vault calls a Processor, so a
// clear PAN travels from vault memory to the acquirer and never back to the gateway. Every
// authorization is a cardholder-initiated transaction on a card kept on file (the gateway saves each
// card it pays with, SP-14.2): the first is the stored credential's initial one, with the CVV; later
// ones reference the network transaction id the initial one returned, and carry no CVV.

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
  /**
   * The card network's transaction id (Visa Transaction Identifier, Mastercard Trace ID) of an
   * approved authorization, from authorize or from completeChallenge, whichever approved it. The
   * vault keeps the one of a card's first approved initial authorization, only in its own schema, and
   * sends it back as `storedCredential.networkTransactionId` on that card's later payments. An adapter
   * returns it exactly as the acquirer gave it, on approval only; absent when the acquirer gave none.
   */
  networkTransactionId?: string;
}

/** The merchant's 3-D Secure preference, for the acquirer's authentication request (EMV 3DS). */
export interface ThreeDsRequest {
  /** threeDSRequestorChallengeInd: 01 no_preference, 02 no_challenge_requested, 03 challenge_requested. */
  challengeIndicator: 'no_preference' | 'challenge_requested' | 'no_challenge_requested';
}

/**
 * Stored-credential (card-on-file) framework data of the networks (Visa's stored credential
 * framework, Mastercard's credential-on-file). Every authorization the vault makes is initiated by
 * the cardholder, who confirms each payment with a code (SP-15.2).
 */
export type StoredCredential =
  /**
   * The card's first use as a stored credential: the cardholder entered it (or typed its CVV again)
   * and consents to it being kept. An adapter flags the authorization as the initial CIT of a stored
   * credential (e.g. POS entry mode and "credential stored" indicator of its acquirer's API) and
   * sends the CVV with it; on approval it returns the network transaction id.
   */
  | { initiator: 'cardholder'; sequence: 'initial' }
  /**
   * A later payment with the card on file, without a CVV: an adapter flags it as a subsequent
   * cardholder-initiated stored-credential transaction and sends `networkTransactionId` as the
   * original transaction reference, which the issuer checks against the card. An acquirer that
   * does not know the id for that card declines it.
   */
  | { initiator: 'cardholder'; sequence: 'subsequent'; networkTransactionId: string };

export interface AuthorizeRequest {
  pan: Buffer; // ASCII digits; the caller zeroes it afterwards
  expMonth: number;
  expYear: number;
  /**
   * ASCII digits; the caller zeroes it afterwards. Present exactly when `storedCredential` is
   * initial (a client who types the CVV for a saved card makes that authorization an initial one).
   * An adapter sends it to be verified and never keeps it (SP-16).
   */
  cvv?: Buffer;
  storedCredential: StoredCredential;
  amount: Money;
  merchant: string;
  paymentRef: string;
  /** 3-D Secure applies to initial and subsequent authorizations alike (SP-18). */
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
