// SP-14.2, SP-16, SP-18: a saved card is charged on file. The card's first approved authorization
// (an initial cardholder-initiated one, with the CVV) gives it a network transaction id; later ones
// cite that id and carry no CVV. The sandbox, like an acquirer, approves only an id it issued for
// that very card, still checks a CVV it is given, and keeps 3-D Secure as it is. The id is kept
// across restarts, set once, only after an approval, and never leaves the vault.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../lib/clock.js';
import { randomCard } from '../../test/support/cards.js';
import { startTestVault, type TestVault } from '../../test/support/vault.js';
import type { AuthorizeRequest, ProcessorOutcome } from '../src/processor/processor.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const lines: string[] = [];
const vault = await startTestVault(t, { clock, logStream: { write: (line) => { lines.push(line); } } });
// Every response body the vault sent in this file, for the scan of the last test.
const bodies: string[] = [];
let n = 0;

async function call(v: TestVault, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await v.client.call<any>(method, path, body);
  bodies.push(JSON.stringify(res.body));
  return res;
}
async function tokenFor(pan: string, v: TestVault = vault): Promise<string> {
  const res = await call(v, 'POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef: 'client-1', cvv: '123' });
  if (res.status !== 201) throw new Error(`tokenize ${res.status}`);
  return res.body.token;
}
const authorize = (token: string, extra: Record<string, unknown> = {}, v: TestVault = vault) => call(v, 'POST', '/v1/authorizations', {
  token, clientRef: 'client-1', amount: { value: 150000, currency: 'KZT' }, merchant: 'Almaty Power', paymentRef: `pay-${++n}`, ...extra,
});
const storedId = async (token: string, v: TestVault = vault) =>
  (await v.db.selectFrom('vault.cards').select('network_transaction_id').where('token', '=', token).executeTakeFirstOrThrow()).network_transaction_id;

interface Seen {
  request: Pick<AuthorizeRequest, 'storedCredential'> & { cvv: boolean };
  outcome: ProcessorOutcome;
}

/** Records what the processor of `v` is asked and answers, for the length of test `t`. */
function watchProcessor(t: Test, v: TestVault = vault): Seen[] {
  const seen: Seen[] = [];
  const inner = v.ctx.processor;
  v.ctx.processor = {
    ...inner,
    authorize: async (request) => {
      const outcome = await inner.authorize(request);
      seen.push({ request: { storedCredential: request.storedCredential, cvv: request.cvv !== undefined }, outcome });
      return outcome;
    },
  };
  t.teardown(() => { v.ctx.processor = inner; });
  return seen;
}

t.test('SP-14.2: the first approved authorization is the initial one; the next is charged on file without a CVV', async (t) => {
  const seen = watchProcessor(t);
  const token = await tokenFor(randomCard('440043'));
  t.equal(await storedId(token), null, 'a new card has no stored credential');
  t.match((await authorize(token)).body, { outcome: 'approved', threeDS: { result: 'frictionless' } }, 'with the CVV held since tokenize');
  const nti = await storedId(token);
  t.match(nti, /^sbxnti_[A-Za-z0-9_-]{38}$/, 'the approval\'s network transaction id is kept with the card');
  t.same(seen[0]!.request, { storedCredential: { initiator: 'cardholder', sequence: 'initial' }, cvv: true });
  t.equal(seen[0]!.outcome.networkTransactionId, nti);

  const repeat = await authorize(token);
  t.match(repeat.body, { outcome: 'approved', threeDS: { enrolled: true, result: 'frictionless' } }, 'no CVV held or given: charged on file');
  t.same(seen[1]!.request, { storedCredential: { initiator: 'cardholder', sequence: 'subsequent', networkTransactionId: nti }, cvv: false });

  t.equal((await authorize(token, { cvv: '123' })).body.outcome, 'approved', 'a CVV the client chose to type is used');
  t.same(seen[2]!.request, { storedCredential: { initiator: 'cardholder', sequence: 'initial' }, cvv: true }, 'as an initial authorization');
  t.ok(seen[2]!.outcome.networkTransactionId, 'which returns an id of its own');
  t.equal(await storedId(token), nti, 'the first id is kept: the reference later payments cite does not change');

  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((e) => e.payload as any)
    .filter((e) => e.action === 'vault.card.authorize' && e.targets.cardToken === token);
  t.same(events.map((e) => e.details.storedCredential), ['initial', 'subsequent', 'initial'], 'SP-17: each event says which it was');
});

t.test('SP-14.2: the sandbox declines a subsequent authorization citing an id it did not issue for that card', async (t) => {
  const seen = watchProcessor(t);
  const mine = await tokenFor(randomCard('440043'));
  const other = await tokenFor(randomCard('440043'));
  t.equal((await authorize(mine)).body.outcome, 'approved');
  t.equal((await authorize(other)).body.outcome, 'approved');
  const mineId = await storedId(mine);
  const otherId = await storedId(other);
  t.ok(mineId && otherId);
  const forged = [
    ['another card\'s id', otherId!],
    ['a made-up id of the right form', `sbxnti_${randomBytes(28).toString('base64url')}`],
    ['an id of another form', 'not-a-network-transaction-id'],
    ['an empty id', ''],
  ] as const;
  for (const [what, id] of forged) {
    await vault.db.updateTable('vault.cards').set({ network_transaction_id: id }).where('token', '=', mine).execute();
    const res = await authorize(mine);
    t.equal(res.status, 200, what);
    t.match(res.body, { outcome: 'declined', declineReason: 'stored_credential_unknown', threeDS: { result: null } }, what);
    t.notOk('challenge' in res.body, what);
  }
  t.equal(seen.filter((s) => s.request.storedCredential.sequence === 'subsequent').length, forged.length, 'each was the processor\'s decline');
  await vault.db.updateTable('vault.cards').set({ network_transaction_id: mineId }).where('token', '=', mine).execute();
  t.equal((await authorize(mine)).body.outcome, 'approved', 'with its own id back, the card is charged on file again');
  t.equal((await authorize(other)).body.outcome, 'approved', 'the other card\'s own id still works for it');
});

t.test('SP-14.2, SP-16: the sandbox checks a CVV it is given and wants one on an initial authorization', async (t) => {
  const pan = Buffer.from(randomCard('440043'));
  const base = {
    pan, expMonth: 12, expYear: 2030, amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: 'direct',
    threeDS: { challengeIndicator: 'no_preference' } as const,
  };
  const sandbox = vault.ctx.processor;
  const initial = { initiator: 'cardholder', sequence: 'initial' } as const;
  const issued = await sandbox.authorize({ ...base, cvv: Buffer.from('123'), storedCredential: initial });
  t.match(issued, { outcome: 'approved', networkTransactionId: /^sbxnti_/ });
  const subsequent = { initiator: 'cardholder', sequence: 'subsequent', networkTransactionId: issued.networkTransactionId! } as const;
  t.match(await sandbox.authorize({ ...base, storedCredential: subsequent }), { outcome: 'approved' });
  t.notOk((await sandbox.authorize({ ...base, storedCredential: subsequent })).networkTransactionId, 'a subsequent approval issues no id');
  for (const cvv of ['12', '1234', '12a', '']) {
    t.match(await sandbox.authorize({ ...base, cvv: Buffer.from(cvv), storedCredential: initial }),
      { outcome: 'declined', declineReason: 'cvv_invalid' }, `CVV "${cvv}" on a Visa`);
    t.match(await sandbox.authorize({ ...base, cvv: Buffer.from(cvv), storedCredential: subsequent }),
      { outcome: 'declined', declineReason: 'cvv_invalid' }, `CVV "${cvv}" given with the stored credential`);
  }
  const declined = await sandbox.authorize({ ...base, storedCredential: initial });
  t.match(declined, { outcome: 'declined', declineReason: 'cvv_missing' }, 'an initial authorization needs the CVV');
  t.notOk(declined.networkTransactionId);
  t.match(await sandbox.authorize({ ...base, pan: Buffer.from(randomCard('440043')), storedCredential: subsequent }),
    { outcome: 'declined', declineReason: 'stored_credential_unknown' }, 'the id is bound to the card number');

  // Through the vault, a CVV of the wrong length is refused before the processor and spends nothing.
  const token = await tokenFor(randomCard('440043'));
  t.equal((await authorize(token)).body.outcome, 'approved');
  const refused = await authorize(token, { cvv: '1234' });
  t.match(refused, { status: 400, body: { code: 'card_invalid' } });
  t.equal((await authorize(token)).body.outcome, 'approved', 'the card is still charged on file afterwards');
});

t.test('SP-14.2: a declined, abandoned or failed first authorization stores no id; the card then needs its CVV', async (t) => {
  const seen = watchProcessor(t);
  const declined = await tokenFor('4400430000000031');
  t.match((await authorize(declined)).body, { outcome: 'declined', declineReason: 'insufficient_funds' });
  t.equal(await storedId(declined), null, 'a declined initial authorization stores no id');
  const asked = seen.length;
  const ref = `pay-${++n}`;
  const refused = await authorize(declined, { paymentRef: ref });
  t.match(refused, { status: 422, body: { code: 'cvv_required' } }, 'no CVV and no stored credential');
  t.equal(seen.length, asked, 'refused before the processor was asked');
  t.equal((await vault.db.selectFrom('vault.authorizations').select('id').where('payment_ref', '=', ref).execute()).length, 0, 'and nothing claimed');

  const abandoned = await tokenFor('4400430000000015');
  t.match((await authorize(abandoned)).body, { outcome: 'challenge_required', challenge: { ref: /^chl_/ } });
  t.equal(await storedId(abandoned), null, 'a challenge not yet passed stores no id');
  t.equal((await authorize(abandoned)).body.code, 'cvv_required');

  const failed = await tokenFor('4400430000000015');
  const failing = await authorize(failed);
  t.match((await call(vault, 'POST', `/v1/challenges/${failing.body.challenge.ref}/complete`, { result: 'fail' })).body, { outcome: 'declined' });
  t.equal(await storedId(failed), null, 'a failed challenge stores no id');
  t.equal((await authorize(failed)).body.code, 'cvv_required');
  t.equal((await authorize(failed, { cvv: '123' })).body.outcome, 'challenge_required', 'with the CVV typed again it is an initial authorization');
});

t.test('SP-14.2, SP-18: a passed challenge gives the id; the card\'s repeat is still challenged by 3-D Secure', async (t) => {
  const seen = watchProcessor(t);
  const token = await tokenFor('4400430000000015');
  const first = await authorize(token);
  t.equal(await storedId(token), null);
  const passed = await call(vault, 'POST', `/v1/challenges/${first.body.challenge.ref}/complete`, { result: 'pass' });
  t.match(passed.body, { outcome: 'approved', threeDS: { result: 'challenged' } });
  const nti = await storedId(token);
  t.match(nti, /^sbxnti_/, 'the approval at the end of the challenge gives the card its id');
  const repeat = await authorize(token);
  t.match(repeat.body, { outcome: 'challenge_required', challenge: { ref: /^chl_/ }, threeDS: { enrolled: true, result: null } },
    'SP-18: charged on file, and still challenged');
  t.same(seen.at(-1)!.request.storedCredential, { initiator: 'cardholder', sequence: 'subsequent', networkTransactionId: nti });
  const done = await call(vault, 'POST', `/v1/challenges/${repeat.body.challenge.ref}/complete`, { result: 'pass' });
  t.match(done.body, { outcome: 'approved', threeDS: { result: 'challenged' } });
  t.equal(await storedId(token), nti, 'unchanged');
});

t.test('SP-14.2: racing first authorizations keep exactly one of the ids they were given', async (t) => {
  const seen = watchProcessor(t);
  const token = await tokenFor(randomCard('440043'));
  const racing = await Promise.all(Array.from({ length: 6 }, () => authorize(token, { cvv: '123' })));
  t.same(racing.map((r) => r.body.outcome), Array(6).fill('approved'));
  const issued = seen.map((s) => s.outcome.networkTransactionId).filter((id) => id !== undefined);
  t.equal(issued.length, 6, 'six initial approvals, six ids');
  t.ok(issued.includes((await storedId(token))!), 'the card keeps one of them');
  t.equal((await authorize(token)).body.outcome, 'approved', 'and is charged on file with it');
});

t.test('SP-14.2: the card\'s id survives a vault restart (a new vault over the same database and keys)', async (t) => {
  const first = await startTestVault(t, { clock });
  const token = await tokenFor(randomCard('539545'), first);
  t.equal((await authorize(token, {}, first)).body.outcome, 'approved');
  const nti = await storedId(token, first);
  t.ok(nti);
  await first.stop();
  const restarted = await startTestVault(t, { databaseUrl: first.databaseUrl, env: first.env, clock });
  const seen = watchProcessor(t, restarted);
  t.match((await authorize(token, {}, restarted)).body, { outcome: 'approved', threeDS: { result: 'frictionless' } },
    'no CVV is held after a restart: charged on file');
  t.same(seen[0]!.request, { storedCredential: { initiator: 'cardholder', sequence: 'subsequent', networkTransactionId: nti }, cvv: false });
});

t.test('SP-14.2, SP-16: no network transaction id in any vault response, audit event or log line', async (t) => {
  // The flows above, plus a replay and a refund of an on-file payment, all ran on this vault.
  const token = await tokenFor(randomCard('440043'));
  await authorize(token);
  const onFile = await authorize(token);
  await authorize(token, { paymentRef: `pay-${n}` });
  await call(vault, 'POST', '/v1/refunds', { authorizationId: onFile.body.authorizationId, amount: { value: 100, currency: 'KZT' }, refundRef: 'r-on-file' });

  const ids = (await vault.db.selectFrom('vault.cards').select('network_transaction_id').execute())
    .map((r) => r.network_transaction_id).filter((id): id is string => id !== null && id.startsWith('sbxnti_'));
  t.ok(ids.length >= 5, `the scan looks for ${ids.length} ids`);
  // The id's random part is what would identify it; each scan is first shown to find a planted one.
  const secrets = ids.map((id) => id.slice('sbxnti_'.length));
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((e) => JSON.stringify(e.payload));
  const places: Array<[string, string[]]> = [['response bodies', bodies], ['audit events', events], ['log lines', lines]];
  for (const [where, texts] of places) {
    t.ok(texts.length > 0, `${where} were recorded`);
    t.ok([...texts, `{"x":"${ids[0]}"}`].some((text) => secrets.some((s) => text.includes(s))), `${where}: a planted id is found`);
    const leaks = texts.filter((text) => secrets.some((s) => text.includes(s)));
    t.same(leaks, [], `${where}: none holds an id`);
  }
});
