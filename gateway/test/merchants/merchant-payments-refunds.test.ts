// The merchant's payments and refunds (issue 15 item 3; SP-20 refunds never beyond what was
// captured, SP-21 audited), through the typed OpenAPI client with the merchant's key: cursor pages
// in a stable order, another merchant's payment not found, partial then full refunds, over-refund
// refused, two concurrent full refunds of which exactly one succeeds, each refund's event once.
import t from 'tap';
import { createGatewayClient } from '../../openapi/client.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { lastSmsCode } from '../../../test/support/clients.js';
import { createTestMerchant } from '../../../test/support/merchants.js';
import { listenPublic } from '../../../test/support/public-listener.js';
import { confirm, entered, kzCard, newClient, paymentsWorld } from '../payments/world.js';

const { gw } = await paymentsWorld(t);
const admin = await listenAdmin(t, gw.ctx);
const listener = await listenPublic(t, gw.ctx);
const shop = await createTestMerchant(admin, { name: 'Kcell Shop', returnOrigins: ['https://shop.example'] });
const rival = await createTestMerchant(admin, { name: 'Rival Shop', returnOrigins: ['https://rival.example'] });
const api = createGatewayClient({ baseUrl: listener.url, ca: listener.ca, token: shop.secret });
const rivalApi = api.withToken(rival.secret);
t.teardown(() => api.close());

/** A session of the shop paid by a new customer with a new KZ card; the payment's id. */
async function paidPayment(amount = 150_000): Promise<string> {
  const { data } = await api.POST('/v1/checkout/sessions', { body: { amount, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: 'https://shop.example/done' } });
  const c = await newClient(gw);
  const started = await gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${data!.id}/pay`, headers: c.auth, payload: { card: entered(kzCard()) } });
  const done = await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone));
  if (done.json().status !== 'succeeded') throw new Error(done.body);
  return started.json().id;
}

const refundEvents = async (paymentId: string, type: string) =>
  (await gw.db.selectFrom('gateway.merchant_events').select('data').where('type', '=', type).execute())
    .filter((e) => (e.data as { paymentId: string }).paymentId === paymentId);

t.test('the merchant lists its payments in cursor pages, newest first, never another merchant\'s', async (t) => {
  // A second apart: ids made within one millisecond of the test clock have no order of their own.
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(await paidPayment());
    gw.clock.advance(1000);
  }
  const client = await newClient(gw);
  await gw.app.inject({ method: 'POST', url: '/v1/payments', headers: client.auth, payload: { providerId: 'kcell', amount: { value: 1000, currency: 'KZT' }, params: { phone: '+77011234567' }, card: entered(kzCard()) } });
  const seen: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await api.GET('/v1/merchant/payments', { params: { query: { limit: 2, ...(cursor ? { startingAfter: cursor } : {}) } } });
    t.equal(page.response.status, 200);
    seen.push(...page.data!.data.map((p) => p.id));
    if (!page.data!.hasMore) { t.equal(page.data!.nextCursor, null); break; }
    cursor = page.data!.nextCursor!;
  }
  t.same(seen, [...ids].reverse(), 'each of its payments once, newest first; no client\'s own payment');
  t.same((await rivalApi.GET('/v1/merchant/payments', {})).data?.data, [], 'another merchant sees none');
  const one = await api.GET('/v1/merchant/payments/{id}', { params: { path: { id: ids[0]! } } });
  t.match(one.data, { id: ids[0], status: 'succeeded', amount: 150_000, currency: 'KZT', mode: 'test', refundedAmount: 0 });
  t.equal((await rivalApi.GET('/v1/merchant/payments/{id}', { params: { path: { id: ids[0]! } } })).response.status, 404);
});

t.test('SP-20: partial then full refund; over-refund refused; another merchant cannot refund', async (t) => {
  const id = await paidPayment();
  const stranger = await rivalApi.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 1 } });
  t.equal(stranger.response.status, 404);
  const over = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 150_001 } });
  t.equal(over.response.status, 422);
  t.equal(over.error?.code, 'refund_not_allowed');
  const part = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 50_000 } });
  t.equal(part.response.status, 201);
  t.match(part.data, { amount: 50_000, currency: 'KZT', status: 'succeeded', paymentId: id });
  const tooMuch = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 100_001 } });
  t.equal(tooMuch.error?.code, 'refund_not_allowed', 'never more than captured minus refunded');
  const rest = await api.POST('/v1/merchant/refunds', { body: { paymentId: id } });
  t.match(rest.data, { amount: 100_000, status: 'succeeded' }, 'no amount: all that is left');
  t.match((await api.GET('/v1/merchant/payments/{id}', { params: { path: { id } } })).data, { status: 'refunded', refundedAmount: 150_000 });
  t.equal((await refundEvents(id, 'refund.succeeded')).length, 2, 'refund.succeeded once per refund');
  const more = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 1 } });
  t.equal(more.error?.code, 'refund_not_allowed');
  t.equal((await refundEvents(id, 'refund.succeeded')).length, 2, 'no event from a refusal');
});

t.test('SP-20: two concurrent full refunds: exactly one succeeds', async (t) => {
  const id = await paidPayment();
  const results = await Promise.all([1, 2].map(() => api.POST('/v1/merchant/refunds', { body: { paymentId: id } })));
  t.same(results.map((r) => r.response.status).sort(), [201, 422]);
  const refunds = await gw.db.selectFrom('gateway.refunds').select(['amount', 'status']).where('payment_id', '=', id).execute();
  t.same(refunds, [{ amount: 150_000, status: 'succeeded' }], 'one refund of the whole amount');
  t.equal((await refundEvents(id, 'refund.succeeded')).length, 1);
});

t.test('Idempotency-Key: a retried refund is answered once, with the refund as it stands', async (t) => {
  const id = await paidPayment();
  const headers = { 'idempotency-key': 'refund-1' };
  const first = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 1000 }, params: { header: headers } });
  const again = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 1000 }, params: { header: headers } });
  t.equal(again.response.status, 201);
  t.equal(again.response.headers.get('idempotent-replayed'), 'true');
  t.same(again.data, first.data, 'the same refund, succeeded');
  t.equal((await gw.db.selectFrom('gateway.refunds').select('id').where('payment_id', '=', id).execute()).length, 1, 'refunded once');
  const changed = await api.POST('/v1/merchant/refunds', { body: { paymentId: id, amount: 2000 }, params: { header: headers } });
  t.equal(changed.error?.code, 'idempotency_conflict');
});
