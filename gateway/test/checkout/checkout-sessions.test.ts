// Hosted checkout sessions (issue 15 item 2; SP-15.1 KZ-only, SP-15.2 the SMS names amount, merchant
// and card, SP-15.3 three cards a month, SP-18 3-D Secure, SP-21 audited): the merchant calls through
// the typed OpenAPI client with its secret key, as a merchant would; the customer through the public
// API with its session, as the hosted page does.
import t from 'tap';
import { sql } from 'kysely';
import { createGatewayClient } from '../../openapi/client.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { sentSms } from '../../../test/support/clients.js';
import { createTestMerchant } from '../../../test/support/merchants.js';
import { listenPublic } from '../../../test/support/public-listener.js';
import { CARDS, confirm, entered, kzCard, newClient, type Client } from '../payments/world.js';
import { paymentsWorld } from '../payments/world.js';
import { lastSmsCode } from '../../../test/support/clients.js';

const { gw, clock } = await paymentsWorld(t, { env: { THREE_DS_SANDBOX_PAGES: 'true' } });
const admin = await listenAdmin(t, gw.ctx);
const listener = await listenPublic(t, gw.ctx);
const shop = await createTestMerchant(admin, { name: 'Kcell Shop', returnOrigins: ['https://shop.example'] });
const rival = await createTestMerchant(admin, { name: 'Rival Shop', returnOrigins: ['https://rival.example'] });
const api = createGatewayClient({ baseUrl: listener.url, ca: listener.ca, token: shop.secret });
const rivalApi = api.withToken(rival.secret);
t.teardown(() => api.close());

const order = { amount: 150_000, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: 'https://shop.example/orders/42/done' };

async function newSession(extra: Partial<typeof order> & { expiresInMinutes?: number; reference?: string } = {}) {
  const { data, response } = await api.POST('/v1/checkout/sessions', { body: { ...order, ...extra } });
  if (response.status !== 201 || !data) throw new Error(`session not created: ${response.status}`);
  return data;
}

const pay = (c: Client, id: string, body: object) =>
  gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${id}/pay`, headers: c.auth, payload: body });

async function merchantEvents(type?: string) {
  let q = gw.db.selectFrom('gateway.merchant_events').select(['type', 'merchant_id', 'livemode', 'data']).orderBy('id');
  if (type) q = q.where('type', '=', type);
  return q.execute();
}

t.test('a session needs a key, is created open with an unguessable id, and its return URLs must be the merchant\'s https origins', async (t) => {
  const anonymous = createGatewayClient({ baseUrl: listener.url, ca: listener.ca });
  t.teardown(() => anonymous.close());
  const refused = await anonymous.POST('/v1/checkout/sessions', { body: order });
  t.equal(refused.response.status, 401);
  t.equal(refused.error?.code, 'api_key_invalid');

  const s = await newSession({ reference: 'order-42' });
  t.match(s.id, /^cs_test_[A-Za-z0-9_-]{43}$/);
  t.equal(s.url, `${gw.ctx.config.publicUrl}/checkout/${s.id}`);
  t.match(s, { status: 'open', amount: 150_000, currency: 'KZT', reference: 'order-42', mode: 'test', paymentId: null });
  t.equal(new Date(s.expiresAt).getTime() - clock.now().getTime(), 30 * 60_000, 'expires in 30 minutes by default');

  const before = (await gw.db.selectFrom('gateway.checkout_sessions').select('id').execute()).length;
  for (const [name, extra] of [
    ['another origin', { returnUrl: 'https://evil.example/done' }],
    ['javascript:', { returnUrl: 'javascript:alert(document.cookie)' }],
    ['http', { returnUrl: 'http://shop.example/done' }],
    ['a look-alike host', { returnUrl: 'https://shop.example.evil.example/done' }],
    ['credentials in the URL', { returnUrl: 'https://shop.example@evil.example/done' }],
    ['cancel URL of another origin', { cancelUrl: 'https://evil.example/cancel' }],
  ] as const) {
    const res = await api.POST('/v1/checkout/sessions', { body: { ...order, ...extra } });
    t.equal(res.response.status, 400, name);
    t.equal(res.error?.code, 'return_url_not_allowed', name);
  }
  const badParams = await api.POST('/v1/checkout/sessions', { body: { ...order, params: { phone: 'x' } } });
  t.equal(badParams.error?.code, 'provider_params_invalid', 'a session no customer could pay is refused');
  t.equal((await gw.db.selectFrom('gateway.checkout_sessions').select('id').execute()).length, before, 'nothing stored by a refusal');
});

t.test('Idempotency-Key: the same request replays the session, another request conflicts', async (t) => {
  const headers = { 'idempotency-key': 'order-77' };
  const first = await api.POST('/v1/checkout/sessions', { body: order, params: { header: headers } });
  const again = await api.POST('/v1/checkout/sessions', { body: { ...order }, params: { header: headers } });
  t.equal(again.response.status, 201);
  t.equal(again.response.headers.get('idempotent-replayed'), 'true');
  t.equal(again.data?.id, first.data?.id, 'one session');
  const other = await api.POST('/v1/checkout/sessions', { body: { ...order, amount: 150_001 }, params: { header: headers } });
  t.equal(other.response.status, 409);
  t.equal(other.error?.code, 'idempotency_conflict');
  const rivalSame = await rivalApi.POST('/v1/checkout/sessions', { body: { ...order, returnUrl: 'https://rival.example/x' }, params: { header: headers } });
  t.equal(rivalSame.response.status, 201, 'keys are scoped to the merchant');
});

t.test('SP-15.2: the customer pays the session\'s amount to the merchant; the body cannot change amount or payee', async (t) => {
  const s = await newSession();
  const c = await newClient(gw);
  for (const extra of [{ amount: { value: 1, currency: 'KZT' } }, { providerId: 'other' }, { params: { phone: '+77000000000' } }]) {
    const res = await pay(c, s.id, { card: entered(kzCard()), ...extra });
    t.equal(res.statusCode, 400, `${Object.keys(extra)[0]} refused`);
  }
  t.equal((await gw.db.selectFrom('gateway.payments').select('id').where('checkout_session_id', '=', s.id).execute()).length, 0, 'no payment from a refused body');

  const page = await gw.app.inject({ method: 'GET', url: `/v1/checkout/sessions/${s.id}/public` });
  t.same(page.json(), { id: s.id, merchant: { name: 'Kcell Shop' }, amount: { value: 150_000, currency: 'KZT' }, status: 'open', returnUrl: order.returnUrl, cancelUrl: null, expiresAt: s.expiresAt });

  const card = kzCard();
  const started = await pay(c, s.id, { card: entered(card) });
  t.equal(started.statusCode, 201, started.body);
  t.match(started.json(), { status: 'requires_confirmation', amount: { value: 150_000, currency: 'KZT' }, provider: { id: 'kcell' } });
  const sms = (await sentSms(gw)).filter((m) => m.to === c.phone).pop()!;
  // The client registered from a Kazakh page, so the SMS is in Kazakh (kk, the bank's default).
  t.match(sms.text, new RegExp(`Kcell Shop алушысына 1 500,00 ₸ төлеу коды, карта \\*${card.slice(-4)}`), 'the SMS names amount, merchant and card');
  t.ok(sms.text.includes(`*${card.slice(-4)}`));
  t.equal((await merchantEvents()).filter((e) => (e.data as { checkoutSessionId?: string }).checkoutSessionId === s.id).length, 0, 'no event before an outcome');

  const done = await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone));
  t.equal(done.json().status, 'succeeded');
  const read = await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } });
  t.match(read.data, { status: 'complete', paymentId: started.json().id });
  const succeeded = (await merchantEvents('payment.succeeded')).filter((e) => (e.data as { id: string }).id === started.json().id);
  t.equal(succeeded.length, 1, 'payment.succeeded once');
  t.match(succeeded[0], { merchant_id: shop.id, livemode: false, data: { amount: 150_000, currency: 'KZT', card: { last4: card.slice(-4) }, status: 'succeeded' } });
  t.notMatch(JSON.stringify(succeeded[0]!.data), card.slice(0, 12), 'no card number in the event');
  t.notMatch(JSON.stringify(succeeded[0]!.data), c.clientId, 'no client in the event');
  t.equal((await merchantEvents('checkout.session.completed')).filter((e) => (e.data as { id: string }).id === s.id).length, 1, 'checkout.session.completed once');

  const reused = await pay(await newClient(gw), s.id, { card: entered(kzCard()) });
  t.equal(reused.statusCode, 409, 'a paid session is single-use');
  t.equal(reused.json().code, 'checkout_session_used');
  const expire = await api.POST('/v1/checkout/sessions/{id}/expire', { params: { path: { id: s.id } } });
  t.equal(expire.error?.code, 'checkout_session_used', 'a paid session cannot expire');
});

t.test('two concurrent payments of one session: exactly one payment, and no event from the loser', async (t) => {
  const s = await newSession();
  const [a, b] = [await newClient(gw), await newClient(gw)];
  const results = await Promise.all([pay(a, s.id, { card: entered(kzCard()) }), pay(b, s.id, { card: entered(kzCard()) })]);
  t.same(results.map((r) => r.statusCode).sort(), [201, 409], results.map((r) => r.body).join(' | '));
  t.equal(results.find((r) => r.statusCode === 409)!.json().code, 'checkout_session_used');
  const payments = await gw.db.selectFrom('gateway.payments').select('id').where('checkout_session_id', '=', s.id).execute();
  t.equal(payments.length, 1, 'one payment');
  const { rows } = await sql<{ payment_id: string }>`select payment_id from gateway.checkout_sessions where id = ${s.id}`.execute(gw.db);
  t.equal(rows[0]!.payment_id, payments[0]!.id);
});

t.test('SP-15.1, SP-15.3: a foreign card and a 4th card of the month are refused; the session stays open for another card', async (t) => {
  const s = await newSession();
  const c = await newClient(gw);
  const foreign = await pay(c, s.id, { card: entered(CARDS.foreignVisa) });
  t.equal(foreign.statusCode, 422);
  t.equal(foreign.json().code, 'card_not_kz');
  for (let i = 0; i < 3; i++) {
    const other = await newSession();
    t.equal((await pay(c, other.id, { card: entered(kzCard()) })).statusCode, 201, `card ${i + 1}`);
  }
  const fourth = await pay(c, s.id, { card: entered(kzCard()) });
  t.equal(fourth.statusCode, 422);
  t.equal(fourth.json().code, 'card_limit_reached');
  t.match((await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } })).data, { status: 'open', paymentId: null }, 'nothing claimed the session');
});

t.test('SP-18: a 3-D Secure challenge, passed, completes the session', async (t) => {
  const s = await newSession();
  const c = await newClient(gw);
  const started = await pay(c, s.id, { card: entered(CARDS.challenge) });
  const challenged = await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone));
  t.equal(challenged.json().status, 'requires_action');
  t.equal((await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } })).data?.status, 'open', 'open while authenticating');
  const answered = await gw.app.inject({ method: 'POST', url: `/v1/payments/${started.json().id}/3ds`, headers: c.auth, payload: { result: 'pass' } });
  t.equal(answered.json().status, 'succeeded');
  t.equal((await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } })).data?.status, 'complete');
});

t.test('a declined payment tells the merchant, and the session can be paid with another card', async (t) => {
  const s = await newSession();
  const c = await newClient(gw);
  const first = await pay(c, s.id, { card: entered(CARDS.declined) });
  t.equal((await confirm(gw, c, first.json().id, await lastSmsCode(gw, c.phone))).json().status, 'declined');
  t.equal((await merchantEvents('payment.failed')).filter((e) => (e.data as { id: string }).id === first.json().id).length, 1, 'payment.failed once');
  const second = await pay(c, s.id, { card: entered(kzCard()) });
  t.equal(second.statusCode, 201, 'a failed payment frees the session');
});

t.test('expiry: past its time a session cannot be paid and expires once, with its event; the merchant may end one early', async (t) => {
  const s = await newSession({ expiresInMinutes: 10 });
  const early = await newSession();
  clock.advance(10 * 60_000);
  const c = await newClient(gw);
  const res = await pay(c, s.id, { card: entered(kzCard()) });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'checkout_session_expired');
  t.equal((await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } })).data?.status, 'expired');
  t.equal((await merchantEvents('checkout.session.expired')).filter((e) => (e.data as { id: string }).id === s.id).length, 1, 'checkout.session.expired once');

  const ended = await api.POST('/v1/checkout/sessions/{id}/expire', { params: { path: { id: early.id } } });
  t.equal(ended.data?.status, 'expired');
  const again = await api.POST('/v1/checkout/sessions/{id}/expire', { params: { path: { id: early.id } } });
  t.equal(again.data?.status, 'expired', 'expiring again answers the session as it is');
  t.equal((await merchantEvents('checkout.session.expired')).filter((e) => (e.data as { id: string }).id === early.id).length, 1, 'and records no second event');
});

t.test('another merchant\'s session is not found', async (t) => {
  const s = await newSession();
  const read = await rivalApi.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } });
  t.equal(read.response.status, 404);
  const expire = await rivalApi.POST('/v1/checkout/sessions/{id}/expire', { params: { path: { id: s.id } } });
  t.equal(expire.response.status, 404);
  t.equal((await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: s.id } } })).data?.status, 'open', 'unchanged');
  const unknown = await gw.app.inject({ method: 'GET', url: `/v1/checkout/sessions/cs_test_${'A'.repeat(43)}/public` });
  t.equal(unknown.statusCode, 404);
});
