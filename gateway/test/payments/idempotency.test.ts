import t from 'tap';
import { sentSms } from '../../../test/support/clients.js';
import { purgeExpiredIdempotencyKeys } from '../../src/payments/idempotency.js';
import { CARDS, create, entered, newClient, paymentBody, paymentsWorld, relogin } from './world.js';

const { gw, clock } = await paymentsWorld(t);

async function countPayments(clientId: string) {
  return (await gw.db.selectFrom('gateway.payments').where('client_id', '=', clientId).select('id').execute()).length;
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
  t.equal((await sentSms(gw)).length, sms, 'no second code was sent');
});

t.test('Idempotency-Key: the same key with a different body is a 409 idempotency_conflict', async (t) => {
  const c = await newClient(gw);
  t.equal((await create(gw, c, paymentBody(entered(CARDS.frictionless)), { 'idempotency-key': 'k' })).statusCode, 201);
  const other = await create(gw, c, paymentBody(entered(CARDS.frictionless), { amount: { value: 150_001, currency: 'KZT' } }), { 'idempotency-key': 'k' });
  t.equal(other.statusCode, 409);
  t.equal(other.json().code, 'idempotency_conflict');
  const otherCard = await create(gw, c, paymentBody(entered(CARDS.mastercard)), { 'idempotency-key': 'k' });
  t.equal(otherCard.json().code, 'idempotency_conflict', 'a different card number is a different body');
  t.equal(await countPayments(c.clientId), 1);
});

t.test('Idempotency-Key: a double click (concurrent) creates one payment', async (t) => {
  const c = await newClient(gw);
  const body = paymentBody(entered(CARDS.frictionless));
  const results = await Promise.all(Array.from({ length: 5 }, () => create(gw, c, body, { 'idempotency-key': 'click' })));
  const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
  t.equal(ids.size, 1, 'every success names the same payment');
  t.same(results.map((r) => r.statusCode === 201 || r.json().code === 'idempotency_conflict'), Array(5).fill(true), 'the rest are told the first is in flight');
  t.equal(await countPayments(c.clientId), 1);
});

t.test('Idempotency-Key: keys are per client, refusals replay too, and keys live 24 hours', async (t) => {
  clock.set('2026-11-24T10:00:00Z');
  let a = await newClient(gw);
  const b = await newClient(gw);
  const body = paymentBody(entered(CARDS.frictionless));
  const pa = await create(gw, a, body, { 'idempotency-key': 'same' });
  const pb = await create(gw, b, body, { 'idempotency-key': 'same' });
  t.not(pa.json().id, pb.json().id, 'another client\'s key does not collide');

  const foreign = paymentBody(entered(CARDS.foreignVisa));
  const r1 = await create(gw, a, foreign, { 'idempotency-key': 'f' });
  const r2 = await create(gw, a, foreign, { 'idempotency-key': 'f' });
  t.same([r1.statusCode, r2.statusCode], [422, 422]);
  t.same(r2.json(), r1.json(), 'a refusal is replayed');

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
  t.ok(stored.every((r) => r.request_hash.length === 32), 'only a 32-byte keyed hash of the body is kept');
  clock.advance(24 * 3_600_000);
  t.ok(await purgeExpiredIdempotencyKeys(gw.db, clock.now()) >= 3, 'the sweeper drops keys older than 24 hours');
  const left = await gw.db.selectFrom('gateway.idempotency_keys').select('key').where('client_id', '=', a.clientId).execute();
  t.same(left, []);
});

t.test('Idempotency-Key: malformed keys are refused', async (t) => {
  const c = await newClient(gw);
  const res = await create(gw, c, paymentBody(entered(CARDS.frictionless)), { 'idempotency-key': 'x'.repeat(256) });
  t.equal(res.json().code, 'validation_failed');
});
