import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { luhnValid } from '../../../test/support/card-canary.js';
import { sentSms } from '../../../test/support/clients.js';
import { purgeExpiredIdempotencyKeys } from '../../src/payments/idempotency.js';
import { CARDS, create, entered, kzCard, newClient, pay, paymentBody, paymentsWorld, relogin, type Client } from './world.js';

// Many clients from one address within one (manual) minute.
const { gw, clock } = await paymentsWorld(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000', OTP_MAX_PER_IP_HOUR: '1000' } });

async function countPayments(clientId: string) {
  return (await gw.db.selectFrom('gateway.payments').where('client_id', '=', clientId).select('id').execute()).length;
}

async function savedCards(clientId: string) {
  return gw.db.selectFrom('gateway.cards').where('client_id', '=', clientId).select(['id', 'fingerprint']).execute();
}

async function storedDigests(clientId: string) {
  return gw.db.selectFrom('gateway.idempotency_keys').select(['key', 'request_hash']).where('client_id', '=', clientId).execute();
}

/** Another Luhn-valid card number with the same BIN and last 4 as `pan`: only its hidden digits differ. */
function twinOf(pan: string): string {
  for (;;) {
    const twin = `${pan.slice(0, 6)}${kzCard().slice(6, 12)}${pan.slice(-4)}`;
    if (twin !== pan && luhnValid(twin)) return twin;
  }
}

/** Sorted-key JSON, as a digest of a JSON request must be taken for key order not to matter. */
function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown => (Array.isArray(v) ? v.map(sorted)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sorted(x)]))
      : v);
  return JSON.stringify(sorted(value));
}

async function conflict(t: Test, c: Client, body: object, key: string, what: string) {
  const res = await create(gw, c, body, { 'idempotency-key': key });
  t.equal(res.statusCode, 409, what);
  t.equal(res.json().code, 'idempotency_conflict', what);
}

t.test('Idempotency-Key: the same key and body replays the first response; nothing is created twice', async (t) => {
  const c = await newClient(gw);
  const body = paymentBody(entered(CARDS.frictionless));
  const first = await create(gw, c, body, { 'idempotency-key': 'order-1' });
  t.equal(first.statusCode, 201);
  const sms = (await sentSms(gw)).length;
  const reordered = { card: body.card, params: body.params, amount: body.amount, providerId: body.providerId };
  const second = await create(gw, c, reordered, { 'idempotency-key': 'order-1' });
  t.equal(second.statusCode, 201);
  t.same(second.json(), first.json(), 'the first response, byte for byte');
  t.equal(second.headers['idempotent-replayed'], 'true');
  t.equal(await countPayments(c.clientId), 1);
  t.equal((await savedCards(c.clientId)).length, 1, 'the replay saved no second card');
  t.equal((await sentSms(gw)).length, sms, 'no second code was sent');
});

t.test('SP-16: the stored digest is a SHA-256 of the request with the card as the vault\'s fingerprint and expiry, no CVV', async (t) => {
  const c = await newClient(gw);
  const pan = kzCard();
  const body = paymentBody(entered(pan, { cvv: '731', expMonth: 7, expYear: 2031 }));
  t.equal((await create(gw, c, body, { 'idempotency-key': 'digest' })).statusCode, 201);
  const [card] = await savedCards(c.clientId);
  t.ok(card, 'the card was saved');
  const { card: _card, ...rest } = body;
  const expected = createHash('sha256').update(canonicalJson({ ...rest, card: { fingerprint: card!.fingerprint, expMonth: 7, expYear: 2031 } })).digest();
  const [stored] = await storedDigests(c.clientId);
  t.ok(stored?.request_hash.equals(expected), 'exactly SHA-256({providerId, amount, params, card: {fingerprint, expMonth, expYear}})');
});

t.test('SP-16: the same card with another CVV is the same request: replayed, not refused', async (t) => {
  const c = await newClient(gw);
  const pan = kzCard();
  const first = await create(gw, c, paymentBody(entered(pan, { cvv: '123' })), { 'idempotency-key': 'cvv' });
  t.equal(first.statusCode, 201);
  const retry = await create(gw, c, paymentBody(entered(pan, { cvv: '456' })), { 'idempotency-key': 'cvv' });
  t.equal(retry.statusCode, 201, 'the CVV is not part of the request digest');
  t.equal(retry.json().id, first.json().id);
  t.equal(retry.headers['idempotent-replayed'], 'true');
  t.equal(await countPayments(c.clientId), 1);
  t.equal((await savedCards(c.clientId)).length, 1);
});

t.test('SP-16: another card number with the same BIN and last 4, or another expiry, is a 409 idempotency_conflict', async (t) => {
  const c = await newClient(gw);
  const pan = kzCard();
  const twin = twinOf(pan);
  t.same([twin.slice(0, 6), twin.slice(-4)], [pan.slice(0, 6), pan.slice(-4)], 'both cards show the same BIN and last 4');
  t.equal((await create(gw, c, paymentBody(entered(pan)), { 'idempotency-key': 'twin' })).statusCode, 201);
  await conflict(t, c, paymentBody(entered(twin)), 'twin', 'a card differing only in its hidden digits is another request');
  await conflict(t, c, paymentBody(entered(pan, { expYear: 2031 })), 'twin', 'another expiry is another request');
  t.equal(await countPayments(c.clientId), 1);
  t.same((await savedCards(c.clientId)).length, 1, 'the conflicting card was not saved');
});

t.test('Idempotency-Key: the same key with a different body is a 409 idempotency_conflict', async (t) => {
  const c = await newClient(gw);
  t.equal((await create(gw, c, paymentBody(entered(CARDS.frictionless)), { 'idempotency-key': 'k' })).statusCode, 201);
  const other = await create(gw, c, paymentBody(entered(CARDS.frictionless), { amount: { value: 150_001, currency: 'KZT' } }), { 'idempotency-key': 'k' });
  t.equal(other.statusCode, 409);
  t.equal(other.json().code, 'idempotency_conflict');
  const otherCard = await create(gw, c, paymentBody(entered(CARDS.mastercard)), { 'idempotency-key': 'k' });
  t.equal(otherCard.json().code, 'idempotency_conflict', 'a different card number is a different body');
  await conflict(t, c, paymentBody(entered(CARDS.frictionless), { params: { phone: '+77011234568' } }), 'k', 'other parameters are another request');
  await conflict(t, c, paymentBody(entered(CARDS.frictionless), { providerId: 'beeline-kz' }), 'k', 'another provider is another request');
  t.equal(await countPayments(c.clientId), 1);
});

t.test('Idempotency-Key: a saved card: the same cardId replays, another saved card or an entered card is a 409', async (t) => {
  const c = await newClient(gw);
  const pan = kzCard();
  // A card is saved (payable by its id) once a payment with it was approved.
  const firstCard = (await pay(gw, c, entered(pan))).created.card.id as string;
  const secondCard = (await pay(gw, c, entered(twinOf(pan)))).created.card.id as string;
  t.not(firstCard, secondCard);
  const before = await countPayments(c.clientId);
  const body = paymentBody({ cardId: firstCard });
  const first = await create(gw, c, body, { 'idempotency-key': 'saved' });
  t.equal(first.statusCode, 201);
  const again = await create(gw, c, body, { 'idempotency-key': 'saved' });
  t.same([again.statusCode, again.json().id, again.headers['idempotent-replayed']], [201, first.json().id, 'true'], 'replayed');
  await conflict(t, c, paymentBody({ cardId: secondCard }), 'saved', 'another saved card (same BIN and last 4) is another request');
  await conflict(t, c, paymentBody(entered(pan)), 'saved', 'the same card entered by hand is another request');
  await conflict(t, c, paymentBody({ cardId: firstCard }, { amount: { value: 150_001, currency: 'KZT' } }), 'saved', 'another amount is another request');
  t.equal(await countPayments(c.clientId), before + 1);

  const results = await Promise.all(Array.from({ length: 5 }, () => create(gw, c, body, { 'idempotency-key': 'saved-click' })));
  const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
  t.equal(ids.size, 1, 'concurrent saved-card duplicates: every success names the same payment');
  const refused = results.filter((r) => r.statusCode !== 201);
  t.ok(refused.every((r) => r.statusCode === 409 && r.json().code === 'idempotency_conflict'), 'the rest are told the first is in flight');
  t.equal(await countPayments(c.clientId), before + 2);
});

t.test('Idempotency-Key: a double click (concurrent) creates one payment', async (t) => {
  const c = await newClient(gw);
  const body = paymentBody(entered(CARDS.frictionless));
  const results = await Promise.all(Array.from({ length: 5 }, () => create(gw, c, body, { 'idempotency-key': 'click' })));
  const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
  t.equal(ids.size, 1, 'every success names the same payment');
  t.same(results.map((r) => r.statusCode === 201 || r.json().code === 'idempotency_conflict'), Array(5).fill(true), 'the rest are told the first is in flight');
  t.equal(await countPayments(c.clientId), 1);
  t.equal((await savedCards(c.clientId)).length, 1, 'one card row');
});

t.test('Idempotency-Key: keys are per client, a card refusal leaves no key, and keys live 24 hours', async (t) => {
  clock.set('2026-11-24T10:00:00Z');
  let a = await newClient(gw);
  const b = await newClient(gw);
  const body = paymentBody(entered(CARDS.frictionless));
  const pa = await create(gw, a, body, { 'idempotency-key': 'same' });
  const pb = await create(gw, b, body, { 'idempotency-key': 'same' });
  t.not(pa.json().id, pb.json().id, 'another client\'s key does not collide');

  // The vault's verdict on the card comes before the key is claimed: nothing is stored, and a
  // retry is answered afresh, the same way (Stripe saves no result for a request that failed validation).
  const foreign = paymentBody(entered(CARDS.foreignVisa));
  const r1 = await create(gw, a, foreign, { 'idempotency-key': 'f' });
  const r2 = await create(gw, a, foreign, { 'idempotency-key': 'f' });
  t.same([r1.statusCode, r2.statusCode], [422, 422]);
  t.same(r2.json(), r1.json(), 'a card refusal is answered the same way');
  t.notOk((await storedDigests(a.clientId)).some((r) => r.key === 'f'), 'and left no key behind');

  clock.advance(23 * 3_600_000);
  a = await relogin(gw, a);
  t.equal((await create(gw, a, body, { 'idempotency-key': 'same' })).json().id, pa.json().id, 'still replayed after 23 hours');
  clock.advance(3_600_000);
  a = await relogin(gw, a);
  const fresh = await create(gw, a, body, { 'idempotency-key': 'same' });
  t.equal(fresh.statusCode, 201);
  t.not(fresh.json().id, pa.json().id, 'after 24 hours the key starts a new payment');
  const stored = await gw.db.selectFrom('gateway.idempotency_keys').select(['request_hash']).where('client_id', '=', a.clientId).execute();
  t.ok(stored.length > 0, 'the keys are stored');
  t.ok(stored.every((r) => r.request_hash.length === 32), 'only a 32-byte SHA-256 digest is kept');
  clock.advance(24 * 3_600_000);
  t.ok(await purgeExpiredIdempotencyKeys(gw.db, clock.now()) >= 3, 'the sweeper drops keys older than 24 hours');
  const left = await gw.db.selectFrom('gateway.idempotency_keys').select('key').where('client_id', '=', a.clientId).execute();
  t.same(left, []);
});

t.test('Idempotency-Key: a refusal decided once the card is known (SP-15.3) is replayed', async (t) => {
  const c = await newClient(gw);
  for (let i = 0; i < 3; i++) t.equal((await create(gw, c, paymentBody(entered(kzCard())))).statusCode, 201);
  const fourth = paymentBody(entered(kzCard()));
  const r1 = await create(gw, c, fourth, { 'idempotency-key': 'limit' });
  t.equal(r1.json().code, 'card_limit_reached');
  const r2 = await create(gw, c, fourth, { 'idempotency-key': 'limit' });
  t.same([r2.statusCode, r2.json(), r2.headers['idempotent-replayed']], [422, r1.json(), 'true']);
});

t.test('Idempotency-Key: malformed keys are refused', async (t) => {
  const c = await newClient(gw);
  const res = await create(gw, c, paymentBody(entered(CARDS.frictionless)), { 'idempotency-key': 'x'.repeat(256) });
  t.equal(res.json().code, 'validation_failed');
});
