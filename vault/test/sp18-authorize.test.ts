// SP-16, SP-18: authorize-and-forward over real mutual TLS against the sandbox processor — each
// test card's outcome and 3-D Secure result, the challenge round trip, idempotency on paymentRef
// under a race, tokens of other clients refused, refunds bounded by the authorized amount.
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { startTestVault } from '../../test/support/vault.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
let n = 0;
const ref = (prefix: string) => `${prefix}-${++n}`;
async function tokenFor(pan: string, clientRef = 'client-1', cvv: string | undefined = '123'): Promise<string> {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef, ...(cvv ? { cvv } : {}) });
  if (res.status !== 201) throw new Error(`tokenize ${res.status}`);
  return res.body.token;
}
const authorize = (token: string, extra: Record<string, unknown> = {}) => vault.client.call<any>('POST', '/v1/authorizations', {
  token, clientRef: 'client-1', amount: { value: 150000, currency: 'KZT' }, merchant: 'Almaty Power', paymentRef: ref('pay'), ...extra,
});

t.test('SP-18: the sandbox test cards give the outcomes and 3-D Secure results of the design', async (t) => {
  const expect: Array<[string, object]> = [
    ['4400430000000007', { outcome: 'approved', threeDS: { enrolled: true, result: 'frictionless' } }],
    ['4400430000000023', { outcome: 'approved', threeDS: { enrolled: false, result: 'bypassed' } }],
    ['4400430000000031', { outcome: 'declined', declineReason: 'insufficient_funds', threeDS: { enrolled: true, result: 'frictionless' } }],
    ['4400430000000049', { outcome: 'approved', threeDS: { enrolled: true, result: 'bypassed' } }],
    ['5395450000000017', { outcome: 'approved', threeDS: { enrolled: true, result: 'frictionless' } }],
    ['4400430000000015', { outcome: 'challenge_required', threeDS: { enrolled: true, result: null } }],
  ];
  for (const [pan, outcome] of expect) {
    const res = await authorize(await tokenFor(pan));
    t.equal(res.status, 200, pan);
    t.match(res.body, { authorizationId: /^[0-9a-f-]{36}$/, ...outcome }, pan);
    t.same(Object.keys(res.body).filter((k) => !['authorizationId', 'outcome', 'declineReason', 'challenge', 'threeDS'].includes(k)), []);
  }
});

t.test('SP-18: a 3-D Secure challenge is shown, passed or failed, and completes once', async (t) => {
  const first = await authorize(await tokenFor('4400430000000015'), { amount: { value: 990000, currency: 'KZT' } });
  const challenge = first.body.challenge.ref as string;
  const page = await vault.client.call<any>('GET', `/v1/challenges/${challenge}`);
  t.same(page.body, { ref: challenge, status: 'pending', amount: { value: 990000, currency: 'KZT' }, merchant: 'Almaty Power', last4: '0015' });
  const [a, b] = await Promise.all([
    vault.client.call<any>('POST', `/v1/challenges/${challenge}/complete`, { result: 'pass' }),
    vault.client.call<any>('POST', `/v1/challenges/${challenge}/complete`, { result: 'pass' }),
  ]);
  t.match(a.body, { authorizationId: first.body.authorizationId, outcome: 'approved', threeDS: { enrolled: true, result: 'challenged' } });
  t.same(b.body, a.body, 'a racing completion gets the same result');
  const late = await vault.client.call<any>('POST', `/v1/challenges/${challenge}/complete`, { result: 'fail' });
  t.same(late.body, a.body, 'a completed challenge cannot be re-decided');
  t.equal((await vault.client.call<any>('GET', `/v1/challenges/${challenge}`)).body.status, 'passed');

  const failing = await authorize(await tokenFor('4400430000000015'));
  const failed = await vault.client.call<any>('POST', `/v1/challenges/${failing.body.challenge.ref}/complete`, { result: 'fail' });
  t.match(failed.body, { outcome: 'declined', declineReason: 'authentication_failed', threeDS: { result: 'failed' } });
  t.equal((await vault.client.call<any>('GET', `/v1/challenges/${failing.body.challenge.ref}`)).body.status, 'failed');
  t.equal((await vault.client.call<any>('GET', '/v1/challenges/chl_nope')).body.code, 'challenge_unknown');
});

t.test('SP-18: the merchant\'s 3-D Secure challenge preference reaches the processor; the sandbox honours a requested challenge', async (t) => {
  const sandbox = vault.ctx.processor;
  const asked: unknown[] = [];
  vault.ctx.processor = { ...sandbox, authorize: async (request) => { asked.push(request.threeDS); return sandbox.authorize(request); } };
  t.teardown(() => { vault.ctx.processor = sandbox; });
  const indicator = (challengeIndicator: string) => ({ threeDS: { challengeIndicator } });

  const requested = await authorize(await tokenFor('4400430000000007'), indicator('challenge_requested'));
  t.match(requested.body, { outcome: 'challenge_required', challenge: { ref: /^chl_/ }, threeDS: { enrolled: true, result: null } },
    'an enrolled card that would pass frictionless is challenged');
  const passed = await vault.client.call<any>('POST', `/v1/challenges/${requested.body.challenge.ref}/complete`, { result: 'pass' });
  t.match(passed.body, { outcome: 'approved', threeDS: { enrolled: true, result: 'challenged' } });
  t.match((await authorize(await tokenFor('4400430000000023'), indicator('challenge_requested'))).body,
    { outcome: 'approved', threeDS: { enrolled: false, result: 'bypassed' } }, 'a card not enrolled cannot be challenged');
  t.match((await authorize(await tokenFor('4400430000000015'), indicator('no_challenge_requested'))).body,
    { outcome: 'challenge_required' }, 'the issuer may challenge whatever the merchant prefers');
  t.match((await authorize(await tokenFor('4400430000000007'), indicator('no_preference'))).body,
    { outcome: 'approved', threeDS: { result: 'frictionless' } });
  t.match((await authorize(await tokenFor('4400430000000007'))).body, { outcome: 'approved', threeDS: { result: 'frictionless' } });
  t.same(asked, [
    { challengeIndicator: 'challenge_requested' }, { challengeIndicator: 'challenge_requested' },
    { challengeIndicator: 'no_challenge_requested' }, { challengeIndicator: 'no_preference' }, { challengeIndicator: 'no_preference' },
  ], 'the processor gets the preference, and no_preference when none was given');

  const token = await tokenFor('4400430000000007');
  for (const threeDS of [{ challengeIndicator: 'mandated' }, {}, { challengeIndicator: 'no_preference', returnUrl: 'https://shop.example/back' }]) {
    const refused = await authorize(token, { threeDS });
    t.match(refused, { status: 400, body: { code: 'validation_failed' } }, JSON.stringify(threeDS));
  }
});

t.test('idempotent on paymentRef: ten racing requests authorize once and all get the first result', async (t) => {
  const token = await tokenFor('4400430000000007');
  const body = { paymentRef: ref('race'), cvv: '123' };
  const results = await Promise.all(Array.from({ length: 10 }, () => authorize(token, body)));
  t.same(results.map((r) => r.status), Array(10).fill(200));
  t.equal(new Set(results.map((r) => r.body.authorizationId)).size, 1, 'one authorization id');
  const rows = await vault.db.selectFrom('vault.authorizations').select('id').where('payment_ref', '=', body.paymentRef).execute();
  t.equal(rows.length, 1, 'one authorization row');
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((e) => e.payload as any);
  const audited = events.filter((e) => e.action === 'vault.card.authorize' && e.details.paymentRef === body.paymentRef);
  t.equal(audited.filter((e) => !e.details.replay).length, 1, 'one processor call audited');
  t.equal(audited.filter((e) => e.details.replay).length, 9, 'each repeat audited as a replay');
  const again = await authorize(token, { paymentRef: body.paymentRef });
  t.equal(again.body.authorizationId, results[0]!.body.authorizationId, 'a later repeat replays without needing the CVV');
  const conflict = await authorize(token, { paymentRef: body.paymentRef, amount: { value: 1, currency: 'KZT' } });
  t.equal(conflict.status, 409);
  t.equal(conflict.body.code, 'idempotency_conflict');
});

t.test('a token unknown to the vault, or of another client, is refused', async (t) => {
  const token = await tokenFor('4400430000000007', 'client-9');
  const other = await authorize(token);
  t.equal(other.status, 404);
  t.equal(other.body.code, 'token_unknown');
  const unknown = await authorize('tok_AAAAAAAAAAAAAAAAAAAAAA', { cvv: '123' });
  t.equal(unknown.status, 404);
  t.equal(unknown.body.code, 'token_unknown');
  const owner = await vault.client.call<any>('POST', '/v1/authorizations', {
    token, clientRef: 'client-9', amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: ref('own'),
  });
  t.equal(owner.body.outcome, 'approved', 'the owner can still use it, with the CVV the refused attempt did not consume');
});

t.test('refunds: idempotent on refundRef, never beyond the authorized amount, only for approved payments', async (t) => {
  const auth = await authorize(await tokenFor('4400430000000007'), { amount: { value: 1000, currency: 'KZT' } });
  const refund = (value: number, refundRef: string, authorizationId = auth.body.authorizationId) =>
    vault.client.call<any>('POST', '/v1/refunds', { authorizationId, amount: { value, currency: 'KZT' }, refundRef });
  const racing = await Promise.all(Array.from({ length: 5 }, (_, i) => refund(400, `r-${i}`)));
  t.equal(racing.filter((r) => r.status === 201).length, 2, 'two of 400 fit in 1000');
  t.same(racing.filter((r) => r.status !== 201).map((r) => r.body.code), Array(3).fill('refund_not_allowed'));
  const first = racing.find((r) => r.status === 201)!;
  const replay = await refund(400, racing.indexOf(first) === 0 ? 'r-0' : `r-${racing.indexOf(first)}`);
  t.same(replay.body, first.body, 'the same refundRef replays');
  t.equal((await refund(200, 'r-last')).status, 201, 'the remaining 200 can be refunded');
  t.equal((await refund(1, 'r-over')).body.code, 'refund_not_allowed');
  const declined = await authorize(await tokenFor('4400430000000031'));
  t.equal((await refund(1, 'r-declined', declined.body.authorizationId)).body.code, 'refund_not_allowed');
  t.equal((await refund(1, 'r-missing', '0190b3a0-0000-7000-8000-000000000000')).body.code, 'authorization_unknown');
});

t.test('refunds: the same refundRef sent concurrently refunds once and every call gets the same answer', async (t) => {
  const auth = await authorize(await tokenFor('4400430000000007'), { amount: { value: 1000, currency: 'KZT' } });
  const refundRef = ref('r-same');
  const racing = await Promise.all(Array.from({ length: 5 }, () => vault.client.call<any>('POST', '/v1/refunds', {
    authorizationId: auth.body.authorizationId, amount: { value: 1000, currency: 'KZT' }, refundRef,
  })));
  t.same(racing.map((r) => r.status), [201, 201, 201, 201, 201], 'a repeat is a replay, not a refund beyond the authorization');
  t.equal(new Set(racing.map((r) => r.body.refundId)).size, 1);
  const rows = await vault.db.selectFrom('vault.refunds').select('id').where('refund_ref', '=', refundRef).execute();
  t.equal(rows.length, 1);
});

t.test('a card that expired after tokenization is declined without reaching the processor', async (t) => {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan: '4400430000000007', expMonth: 12, expYear: 2026, clientRef: 'client-1', cvv: '123' });
  clock.set('2027-01-01T00:00:00+05:00');
  const auth = await authorize(res.body.token, { cvv: '123' });
  t.match(auth.body, { outcome: 'declined', declineReason: 'card_expired', threeDS: { enrolled: false, result: null } });
  const row = await vault.db.selectFrom('vault.authorizations').select('processor_ref').where('id', '=', auth.body.authorizationId).executeTakeFirstOrThrow();
  t.equal(row.processor_ref, null, 'no processor reference: it was never sent');
  clock.set('2026-11-24T10:00:00Z');
});
