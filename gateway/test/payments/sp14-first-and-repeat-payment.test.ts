import t from 'tap';
import { sql } from 'kysely';
import { auditEvents, lastSmsCode } from '../../../test/support/clients.js';
import { MINUTE } from '../../../lib/clock.js';
import { CARDS, confirm, create, entered, kzCard, newClient, pay, paymentBody, paymentsWorld, relogin, type Client } from './world.js';

// One gateway + vault for the file (building one costs seconds); each test uses its own clients.
const { gw, vault, clock } = await paymentsWorld(t);

t.test('SP-14: providers are listed with their parameter schemas to logged-in clients only', async (t) => {
  const anonymous = await gw.app.inject({ method: 'GET', url: '/v1/providers' });
  t.equal(anonymous.statusCode, 401, 'SP-14: no login, no catalog');
  const c = await newClient(gw);
  const res = await gw.app.inject({ method: 'GET', url: '/v1/providers', headers: c.auth });
  t.equal(res.statusCode, 200);
  const list = res.json() as Array<{ id: string; category: string; currency: string; params: Array<{ name: string; pattern: string }> }>;
  t.same(new Set(list.map((p) => p.category)), new Set(['mobile', 'utilities', 'internet', 'transport']));
  const kcell = list.find((p) => p.id === 'kcell')!;
  t.equal(kcell.currency, 'KZT');
  t.equal(kcell.params[0]!.name, 'phone');
});

t.test('SP-14.1 first payment, then SP-14.2 repeat payment with the saved card', async (t) => {
  const c = await newClient(gw);

  const first = await pay(gw, c, entered(CARDS.frictionless));
  t.equal(first.status, 200);
  t.equal(first.created.status, 'requires_confirmation');
  t.equal(first.confirmed.status, 'succeeded');
  t.same(first.confirmed.threeDS, { enrolled: true, result: 'frictionless' }, 'SP-18: 3DS outcome recorded');
  t.same(first.confirmed.card.last4, '0007');
  t.notOk(JSON.stringify(first).includes(CARDS.frictionless), 'no PAN in any response');

  const cards = await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth });
  t.equal(cards.statusCode, 200);
  const saved = cards.json().data;
  t.equal(saved.length, 1, 'the card used is saved');
  t.match(saved[0], { brand: 'visa', bin6: '440043', last4: '0007', expMonth: 12, expYear: 2030, status: 'active' });
  t.notOk('token' in saved[0] || 'fingerprint' in saved[0], 'token and fingerprint never leave the gateway');

  // Repeat payment (SP-14.2): provider, amount and parameters, the card by id, the code. No CVV:
  // the saved card is charged on file, citing its first approved payment.
  const repeat = await create(gw, c, paymentBody({ cardId: saved[0].id }, { amount: { value: 99_900, currency: 'KZT' } }));
  t.equal(repeat.statusCode, 201);
  const code = await lastSmsCode(gw, c.phone);
  const noCode = await gw.app.inject({ method: 'POST', url: `/v1/payments/${repeat.json().id}/confirm`, headers: c.auth, payload: {} });
  t.equal(noCode.json().code, 'validation_failed', 'SP-15.2: no confirmation without the code');
  const wrong = await confirm(gw, c, repeat.json().id, code === '000000' ? '000001' : '000000');
  t.equal(wrong.statusCode, 400);
  t.equal(wrong.json().code, 'otp_invalid', 'SP-15.2: the code is checked as for any card operation');
  const pending = await gw.app.inject({ method: 'GET', url: `/v1/payments/${repeat.json().id}`, headers: c.auth });
  t.equal(pending.json().status, 'requires_confirmation', 'a wrong code authorizes nothing');
  const done = await confirm(gw, c, repeat.json().id, code);
  t.equal(done.statusCode, 200);
  t.equal(done.json().status, 'succeeded', 'SP-14.2: confirmed with {code} alone');
  t.equal(done.json().amount.value, 99_900);
  t.same(done.json().threeDS, { enrolled: true, result: 'frictionless' }, 'SP-18: 3-D Secure as for any payment');

  const list = await gw.app.inject({ method: 'GET', url: '/v1/payments', headers: c.auth });
  t.equal(list.json().data.length, 2);
  const one = await gw.app.inject({ method: 'GET', url: `/v1/payments/${repeat.json().id}`, headers: c.auth });
  t.equal(one.json().status, 'succeeded');

  const actions = (await auditEvents(gw)).filter((e) => e.targets.clientId === c.clientId).map((e) => e.action);
  for (const a of ['card.saved', 'payment.created', 'payment.code_sent', 'payment.confirmed', 'payment.authorized', 'payment.three_ds']) {
    t.ok(actions.includes(a), `SP-21: ${a} audited`);
  }
});

/** Starts a payment with the saved card `cardId`; returns its id and its code. */
async function repeatWith(c: Client, cardId: string): Promise<{ id: string; code: string }> {
  const created = await create(gw, c, paymentBody({ cardId }));
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.statusCode} ${created.body}`);
  return { id: created.json().id, code: await lastSmsCode(gw, c.phone) };
}

const statusOf = async (c: Client, id: string) => (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json().status;

t.test('SP-14.2: a card whose first payment was declined or never confirmed is not offered for a repeat payment', async (t) => {
  let c = await newClient(gw);
  const declined = await pay(gw, c, entered(CARDS.declined));
  t.equal(declined.confirmed.status, 'declined');
  const abandoned = await create(gw, c, paymentBody(entered(kzCard())));
  t.equal(abandoned.statusCode, 201);
  clock.advance(16 * MINUTE);
  c = await relogin(gw, c);
  const listed = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth })).json().data;
  t.same(listed, [], 'neither card has an approved payment to charge it on file with, so neither is listed');
  for (const cardId of [declined.created.card.id, abandoned.json().card.id]) {
    const refused = await create(gw, c, paymentBody({ cardId }));
    t.same([refused.statusCode, refused.json().code], [404, 'not_found'], 'nor payable by its id: the client enters the card');
  }
});

t.test('SP-14.2: a saved card with no stored credential (approved before card-on-file) needs its CVV once, then no more', async (t) => {
  const c = await newClient(gw);
  const first = await pay(gw, c, entered(kzCard()));
  t.equal(first.confirmed.status, 'succeeded');
  const cardId = first.created.card.id as string;
  // A card saved before the vault kept network transaction ids.
  const cleared = await sql`update vault.cards set network_transaction_id = null where client_ref = ${c.clientId}`.execute(vault.db);
  t.equal(Number(cleared.numAffectedRows), 1);

  const repeat = await repeatWith(c, cardId);
  const noCvv = await confirm(gw, c, repeat.id, repeat.code);
  t.same([noCvv.statusCode, noCvv.json().code], [422, 'cvv_required'], 'no CVV and no stored credential');
  t.equal(await statusOf(c, repeat.id), 'processing', 'confirmed with its code, waiting for the CVV; nothing authorized');
  for (const [cvv, code] of [['12', 'validation_failed'], ['12345', 'validation_failed'], ['1234', 'card_invalid']] as const) {
    const refused = await confirm(gw, c, repeat.id, repeat.code, cvv);
    t.equal(refused.statusCode, 400, `CVV ${cvv}`);
    t.equal(refused.json().code, code, `CVV ${cvv}: a CVV of the wrong format for a Visa is refused`);
  }
  t.equal(await statusOf(c, repeat.id), 'processing', 'and still nothing authorized');
  const withCvv = await confirm(gw, c, repeat.id, repeat.code, '123');
  t.same([withCvv.statusCode, withCvv.json().status], [200, 'succeeded'], 'with the CVV the payment completes');

  const later = await repeatWith(c, cardId);
  const onFile = await confirm(gw, c, later.id, later.code);
  t.same([onFile.statusCode, onFile.json().status], [200, 'succeeded'], 'afterwards the card is charged on file: {code} alone');
});

t.test('SP-14.2, SP-18: a saved card that needs a 3-D Secure challenge is challenged on its repeat payment too', async (t) => {
  const c = await newClient(gw);
  const first = await pay(gw, c, entered(CARDS.challenge));
  t.equal(first.confirmed.status, 'requires_action');
  // The cardholder passes the issuer's challenge (the sandbox ACS answers the vault).
  const passed = await gw.app.inject({ method: 'POST', url: `/v1/payments/${first.created.id}/3ds`, headers: c.auth, payload: { result: 'pass' } });
  t.equal(passed.json().status, 'succeeded');

  const repeat = await repeatWith(c, first.created.card.id);
  const res = await confirm(gw, c, repeat.id, repeat.code);
  t.equal(res.statusCode, 200);
  t.equal(res.json().status, 'requires_action', 'SP-18: charged on file without a CVV, and still challenged');
  t.match(res.json().nextAction, { type: 'redirect_to_url', url: /^\/v1\/3ds\/challenges\/chl_/ });
  t.not(res.json().nextAction.url, first.confirmed.nextAction.url, 'a challenge of its own');
});

t.test('SP-14.2: another client\'s card or payment is 404, never 403; a removed card is gone', async (t) => {
  const alice = await newClient(gw);
  const bob = await newClient(gw);
  const paid = await pay(gw, alice, entered(CARDS.mastercard));
  const aliceCard = paid.created.card.id;

  const steal = await create(gw, bob, paymentBody({ cardId: aliceCard }));
  t.equal(steal.statusCode, 404);
  t.equal(steal.json().code, 'not_found');
  const peek = await gw.app.inject({ method: 'GET', url: `/v1/payments/${paid.created.id}`, headers: bob.auth });
  t.equal(peek.statusCode, 404);
  const del = await gw.app.inject({ method: 'DELETE', url: `/v1/cards/${aliceCard}`, headers: bob.auth });
  t.equal(del.statusCode, 404, 'cannot remove another client\'s card');

  const mine = await gw.app.inject({ method: 'DELETE', url: `/v1/cards/${aliceCard}`, headers: alice.auth });
  t.equal(mine.statusCode, 204);
  const after = await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: alice.auth });
  t.same(after.json().data, []);
  const reuse = await create(gw, alice, paymentBody({ cardId: aliceCard }));
  t.equal(reuse.statusCode, 404, 'a removed card cannot be paid with');
  t.equal((await auditEvents(gw, 'card.removed')).filter((e) => e.targets.clientId === alice.clientId).length, 1);
});

t.test('SP-13 + SP-14: a blocked client cannot pay', async (t) => {
  const c = await newClient(gw);
  await gw.db.updateTable('gateway.clients').set({ blocked_at: gw.clock.now(), blocked_reason: 'test', blocked_by: 'admin' })
    .where('id', '=', c.clientId).execute();
  const res = await create(gw, c, paymentBody(entered(CARDS.frictionless)));
  t.equal(res.statusCode, 403);
  t.equal(res.json().code, 'client_blocked');
  const count = await gw.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId)
    .select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(count.n), 0);
});

t.test('SP-14: amounts and provider parameters are validated', async (t) => {
  const c = await newClient(gw);
  const card = entered(CARDS.frictionless);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['amount 0', { amount: { value: 0, currency: 'KZT' } }, 'validation_failed'],
    ['negative amount', { amount: { value: -100, currency: 'KZT' } }, 'validation_failed'],
    ['fractional amount', { amount: { value: 1500.5, currency: 'KZT' } }, 'validation_failed'],
    ['amount as a string', { amount: { value: '150000', currency: 'KZT' } }, 'validation_failed'],
    ['above the provider maximum', { amount: { value: 10_000_001, currency: 'KZT' } }, 'amount_out_of_range'],
    ['below the provider minimum', { amount: { value: 99, currency: 'KZT' } }, 'amount_out_of_range'],
    ['wrong currency', { amount: { value: 150_000, currency: 'USD' } }, 'currency_not_supported'],
    ['missing provider parameter', { params: {} }, 'provider_params_invalid'],
    ['parameter off its pattern', { params: { phone: '12345' } }, 'provider_params_invalid'],
    ['unknown parameter', { params: { phone: '+77011234567', extra: 'x' } }, 'provider_params_invalid'],
    ['unknown provider', { providerId: 'nope' }, 'provider_unknown'],
  ];
  for (const [name, extra, code] of cases) {
    const res = await create(gw, c, paymentBody(card, extra));
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, code, name);
  }
  const mixed = await create(gw, c, paymentBody({ ...card, cardId: '0190f0f0-0000-7000-8000-000000000000' }));
  t.equal(mixed.json().code, 'validation_failed', 'a card is either saved or entered, not both');
  const count = await gw.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId)
    .select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(count.n), 0, 'bad input changes nothing');
  const cards = await gw.db.selectFrom('gateway.cards').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(cards.length, 0, 'and saves no card');
});
