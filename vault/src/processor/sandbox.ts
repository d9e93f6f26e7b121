// Sandbox acquirer with 3-D Secure simulation (development default). Behaviour per the test-card
// table in ../shared/design.md; any other card that reached it (a Kazakhstan BIN) is approved
// with frictionless authentication. A merchant's `challenge_requested` turns frictionless
// authentication into a challenge, as an ACS honouring the request would; a card that is not
// enrolled, or whose directory server is down, cannot be challenged, and the declined card keeps
// its decline. Its state is the processor reference itself, so a challenge survives a vault
// restart exactly as it would at a real acquirer.
//
// Stored credentials: an approved initial authorization returns a network transaction id, and a
// subsequent one is approved only with an id this sandbox issued for the same card number, as an
// issuer checks the original transaction's reference against the card; otherwise it is declined
// `stored_credential_unknown` before any 3-D Secure step. The ids are self-authenticating rather
// than kept in a table: `sbxnti_` + a random nonce + an HMAC over the nonce and the card number
// under a key derived from the vault's active fingerprint key (HKDF, a label of its own, so neither
// key's outputs say anything about the other's); an id is accepted under any key of the ring, so a
// fingerprint key rotation keeps the ids issued before it until the old version is retired. So they survive a restart with no state of the sandbox's
// own, cannot be made up or moved to another card without that key, and the sandbox does no
// database I/O while the vault's authorization transaction waits on it (a pool connection for a
// sandbox table, taken while each in-flight authorization holds one, could starve the pool). A
// CVV, when given, is checked by the rules of card-number.ts.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../../lib/secret.js';
import type { FingerprintKeyRing } from '../crypto/fingerprint.js';
import { brandOf, cvvValid } from '../card-number.js';
import type { AuthorizeRequest, Processor, ProcessorOutcome } from './processor.js';

type Behaviour = 'frictionless' | 'challenge' | 'not_enrolled' | 'insufficient_funds' | 'ds_unavailable';

const TEST_CARDS: ReadonlyArray<[Buffer, Behaviour]> = [
  [Buffer.from('4400430000000007'), 'frictionless'],
  [Buffer.from('4400430000000015'), 'challenge'],
  [Buffer.from('4400430000000023'), 'not_enrolled'],
  [Buffer.from('4400430000000031'), 'insufficient_funds'],
  [Buffer.from('4400430000000049'), 'ds_unavailable'],
  [Buffer.from('5395450000000017'), 'frictionless'],
];

function behaviourOf(pan: Buffer): Behaviour {
  return TEST_CARDS.find(([card]) => card.equals(pan))?.[1] ?? 'frictionless';
}

const newRef = () => `sbx_${randomBytes(12).toString('hex')}`;

const NTI_PREFIX = 'sbxnti_';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Separates a challenged initial authorization's reference from the id its approval will return.
const PENDING_NTI = '.';

/** Issues and checks the sandbox's network transaction ids (see the header). */
function networkTransactionIds(ring: FingerprintKeyRing) {
  const derive = (key: Secret<Buffer>) => Buffer.from(hkdfSync('sha256', key.expose(), Buffer.alloc(0), 'sandbox network transaction id v1', 32));
  const active = derive(ring.keys.find((k) => k.version === ring.active)!.key);
  const accepted = ring.keys.map((k) => derive(k.key));
  const tag = (key: Buffer, nonce: Buffer, pan: Buffer) => createHmac('sha256', key).update(nonce).update(pan).digest().subarray(0, TAG_BYTES);
  return {
    issue(pan: Buffer): string {
      const nonce = randomBytes(NONCE_BYTES);
      return NTI_PREFIX + Buffer.concat([nonce, tag(active, nonce, pan)]).toString('base64url');
    },
    issuedFor(nti: string, pan: Buffer): boolean {
      if (!nti.startsWith(NTI_PREFIX)) return false;
      const raw = Buffer.from(nti.slice(NTI_PREFIX.length), 'base64url');
      if (raw.length !== NONCE_BYTES + TAG_BYTES) return false;
      const nonce = raw.subarray(0, NONCE_BYTES);
      return accepted.some((key) => timingSafeEqual(raw.subarray(NONCE_BYTES), tag(key, nonce, pan)));
    },
  };
}

const NOT_AUTHENTICATED = { enrolled: false, result: null } as const;

export function sandboxProcessor(fingerprintKeys: FingerprintKeyRing): Processor {
  const ntis = networkTransactionIds(fingerprintKeys);

  /** The refusal of a request the card network would refuse before the issuer's 3-D Secure step. */
  function refusal(request: AuthorizeRequest): string | undefined {
    const { storedCredential: credential, cvv, pan } = request;
    if (credential.sequence === 'subsequent' && !ntis.issuedFor(credential.networkTransactionId, pan)) return 'stored_credential_unknown';
    if (credential.sequence === 'initial' && cvv === undefined) return 'cvv_missing';
    const brand = brandOf(pan)?.brand;
    if (cvv !== undefined && (brand === undefined || !cvvValid(cvv, brand))) return 'cvv_invalid';
    return undefined;
  }

  return {
    name: 'sandbox',
    async authorize(request: AuthorizeRequest): Promise<ProcessorOutcome> {
      const processorRef = newRef();
      const declineReason = refusal(request);
      if (declineReason) return { processorRef, outcome: 'declined', declineReason, threeDS: NOT_AUTHENTICATED };
      const initial = request.storedCredential.sequence === 'initial';
      const approved = (threeDS: ProcessorOutcome['threeDS']): ProcessorOutcome => ({
        processorRef, outcome: 'approved', threeDS, ...(initial ? { networkTransactionId: ntis.issue(request.pan) } : {}),
      });
      // The id an initial authorization's approval will return rides in the reference until the
      // challenge is passed: the sandbox sees no card number at completion.
      const challenge = (): ProcessorOutcome => ({
        processorRef: initial ? `${processorRef}${PENDING_NTI}${ntis.issue(request.pan)}` : processorRef,
        outcome: 'challenge_required', threeDS: { enrolled: true, result: null },
      });
      switch (behaviourOf(request.pan)) {
        case 'challenge':
          return challenge();
        case 'not_enrolled':
          return approved({ enrolled: false, result: 'bypassed' });
        case 'insufficient_funds':
          return { processorRef, outcome: 'declined', declineReason: 'insufficient_funds', threeDS: { enrolled: true, result: 'frictionless' } };
        case 'ds_unavailable':
          return approved({ enrolled: true, result: 'bypassed' });
        case 'frictionless':
          return request.threeDS.challengeIndicator === 'challenge_requested' ? challenge() : approved({ enrolled: true, result: 'frictionless' });
      }
    },
    async completeChallenge({ processorRef, passed }) {
      const pending = processorRef.split(PENDING_NTI)[1];
      return passed
        ? { processorRef, outcome: 'approved', threeDS: { enrolled: true, result: 'challenged' }, ...(pending ? { networkTransactionId: pending } : {}) }
        : { processorRef, outcome: 'declined', declineReason: 'authentication_failed', threeDS: { enrolled: true, result: 'failed' } };
    },
    async refund() {
      return { status: 'succeeded' };
    },
  };
}
