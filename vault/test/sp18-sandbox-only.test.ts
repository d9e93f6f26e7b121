// SP-18: only the sandbox lets a caller declare a 3-D Secure challenge's result. With any other
// processor (here a stand-in for an acquirer adapter that challenges every card) the vault's
// challenge routes do not exist: a challenge is finished by the acquirer's own report, and a
// caller holding a ref, even the gateway, cannot pass it.
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { startTestVault } from '../../test/support/vault.js';
import type { Processor } from '../../vault/src/processor/processor.js';

const completed: string[] = [];
const acquirer: Processor = {
  name: 'acquirer-stub',
  async authorize() {
    return { processorRef: 'acq-1', outcome: 'challenge_required', threeDS: { enrolled: true, result: null } };
  },
  async completeChallenge({ processorRef }) {
    completed.push(processorRef);
    return { processorRef, outcome: 'approved', threeDS: { enrolled: true, result: 'challenged' } };
  },
  async refund() {
    return { status: 'succeeded' };
  },
};

t.test('SP-18: with a processor other than the sandbox the challenge routes answer 404', async (t) => {
  const vault = await startTestVault(t, { clock: new ManualClock('2026-11-24T10:00:00Z'), processor: acquirer });
  const token = (await vault.client.call<any>('POST', '/v1/tokens', { pan: '4400430000000007', expMonth: 12, expYear: 2030, clientRef: 'c-1', cvv: '123' })).body.token;
  const auth = await vault.client.call<any>('POST', '/v1/authorizations', {
    token, clientRef: 'c-1', amount: { value: 1000, currency: 'KZT' }, merchant: 'Kcell', paymentRef: 'pay-1',
  });
  t.equal(auth.status, 200);
  t.equal(auth.body.outcome, 'challenge_required');
  const ref = auth.body.challenge.ref as string;
  const shown = await vault.client.call<any>('GET', `/v1/challenges/${ref}`);
  t.equal(shown.status, 404);
  t.equal(shown.body.code, 'not_found');
  const passed = await vault.client.call<any>('POST', `/v1/challenges/${ref}/complete`, { result: 'pass' });
  t.equal(passed.status, 404);
  t.same(completed, [], 'the processor was never told the challenge passed');
  const row = await vault.db.selectFrom('vault.authorizations').select('outcome').where('payment_ref', '=', 'pay-1').executeTakeFirstOrThrow();
  t.equal(row.outcome, 'challenge_required');
});

t.test('SP-18: with the sandbox they exist', async (t) => {
  const vault = await startTestVault(t, { clock: new ManualClock('2026-11-24T10:00:00Z') });
  const res = await vault.client.call<any>('GET', '/v1/challenges/chl_AAAAAAAAAAAAAAAAAAAAAA');
  t.equal(res.status, 404);
  t.equal(res.body.code, 'challenge_unknown', 'the route answers: an unknown challenge, not an unknown route');
});
