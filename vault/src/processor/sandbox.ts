// Sandbox acquirer with 3-D Secure simulation (development default). Behaviour per the test-card
// table in ../shared/design.md; any other card that reached it (a Kazakhstan BIN) is approved
// with frictionless authentication. A merchant's `challenge_requested` turns frictionless
// authentication into a challenge, as an ACS honouring the request would; a card that is not
// enrolled, or whose directory server is down, cannot be challenged, and the declined card keeps
// its decline. Its state is the processor reference itself, so a challenge survives a vault
// restart exactly as it would at a real acquirer.
import { randomBytes } from 'node:crypto';
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

export function sandboxProcessor(): Processor {
  return {
    name: 'sandbox',
    async authorize(request: AuthorizeRequest): Promise<ProcessorOutcome> {
      const processorRef = newRef();
      switch (behaviourOf(request.pan)) {
        case 'challenge':
          return { processorRef, outcome: 'challenge_required', threeDS: { enrolled: true, result: null } };
        case 'not_enrolled':
          return { processorRef, outcome: 'approved', threeDS: { enrolled: false, result: 'bypassed' } };
        case 'insufficient_funds':
          return { processorRef, outcome: 'declined', declineReason: 'insufficient_funds', threeDS: { enrolled: true, result: 'frictionless' } };
        case 'ds_unavailable':
          return { processorRef, outcome: 'approved', threeDS: { enrolled: true, result: 'bypassed' } };
        case 'frictionless':
          return request.threeDS.challengeIndicator === 'challenge_requested'
            ? { processorRef, outcome: 'challenge_required', threeDS: { enrolled: true, result: null } }
            : { processorRef, outcome: 'approved', threeDS: { enrolled: true, result: 'frictionless' } };
      }
    },
    async completeChallenge({ processorRef, passed }) {
      return passed
        ? { processorRef, outcome: 'approved', threeDS: { enrolled: true, result: 'challenged' } }
        : { processorRef, outcome: 'declined', declineReason: 'authentication_failed', threeDS: { enrolled: true, result: 'failed' } };
    },
    async refund() {
      return { status: 'succeeded' };
    },
  };
}
