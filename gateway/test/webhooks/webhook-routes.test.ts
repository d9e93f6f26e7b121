// The merchant's webhook routes (issue 15 item 4; SP-21 audited): register with the secret shown
// once, list, rotate, disable; URLs the SSRF guard refuses change nothing; another merchant's
// endpoint or delivery answers 404; a live key never registers http:// or a loopback address.
import t from 'tap';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { bearer, createTestKey, createTestMerchant } from '../../../test/support/merchants.js';
import { recordMerchantEvent } from '../../src/merchants/merchant-events.js';
import { relayMerchantEvents } from '../../src/webhooks/relay.js';
import { openSecret } from '../../src/webhooks/secret-box.js';

const gw = await buildTestGateway(t);
const admin = await listenAdmin(t, gw.ctx);
const shop = await createTestMerchant(admin);
const rival = await createTestMerchant(admin, { name: 'Rival' });
const hookUrl = 'http://127.0.0.1:9/hook';

const call = (secret: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  gw.app.inject({ method, url, headers: bearer(secret), ...(payload ? { payload } : {}) });

const endpointRows = () => gw.db.selectFrom('gateway.webhook_endpoints').selectAll().execute();

t.test('register: 201 with the secret once, sealed at rest; list shows no secret', async (t) => {
  const res = await call(shop.secret, 'POST', '/v1/webhook-endpoints', { url: hookUrl, events: ['payment.succeeded', 'checkout.session.completed'] });
  t.equal(res.statusCode, 201, res.body);
  const created = res.json();
  t.match(created, { url: hookUrl, events: ['payment.succeeded', 'checkout.session.completed'] });
  t.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const row = (await endpointRows()).find((r) => r.id === created.id)!;
  t.notOk(row.secret_sealed.includes(Buffer.from(created.secret)), 'the secret is not stored in clear');
  t.equal(openSecret(gw.ctx.config.webhooks.secretKey, row.id, row.secret_sealed), created.secret);

  const list = await call(shop.secret, 'GET', '/v1/webhook-endpoints');
  t.equal(list.statusCode, 200);
  t.same(list.json().data.map((e: { id: string }) => e.id), [created.id]);
  t.notOk(list.body.includes('whsec_'), 'no secret in the list');
  t.same((await call(rival.secret, 'GET', '/v1/webhook-endpoints')).json().data, [], 'another merchant sees none of them');
});

t.test('SSRF: refused URLs answer 400 webhook_url_not_allowed and store nothing', async (t) => {
  const live = await createTestKey(admin, shop.id, 'live');
  const before = (await endpointRows()).length;
  const cases: [string, string, string][] = [
    ['metadata address', shop.secret, 'https://169.254.169.254/latest/meta-data'],
    ['private address', shop.secret, 'https://10.1.2.3/hook'],
    ['decimal loopback over https', shop.secret, 'https://2130706433/hook'],
    ['IPv4-mapped loopback over https', shop.secret, 'https://[::ffff:127.0.0.1]/hook'],
    ['http to a private address', shop.secret, 'http://192.168.1.1/hook'],
    ['not http', shop.secret, 'ftp://example.com/hook'],
    ['credentials in the URL', shop.secret, 'https://user:pw@example.com/hook'],
    ['live key, http loopback', live.secret, hookUrl],
    ['live key, https loopback', live.secret, 'https://127.0.0.1/hook'],
    ['localhost name over https', shop.secret, 'https://localhost/hook'],
  ];
  for (const [name, secret, url] of cases) {
    const res = await call(secret, 'POST', '/v1/webhook-endpoints', { url, events: ['payment.succeeded'] });
    t.equal(res.statusCode, 400, name);
    t.equal(res.json().code, 'webhook_url_not_allowed', name);
  }
  const unknownEvent = await call(shop.secret, 'POST', '/v1/webhook-endpoints', { url: hookUrl, events: ['payment.everything'] });
  t.equal(unknownEvent.json().code, 'validation_failed', 'an unknown event type is refused');
  t.equal((await endpointRows()).length, before, 'nothing stored');
});

t.test('rotate: a new secret, the previous one kept for the grace period; another merchant gets 404', async (t) => {
  const created = (await call(shop.secret, 'POST', '/v1/webhook-endpoints', { url: hookUrl, events: ['refund.succeeded'] })).json();
  t.equal((await call(rival.secret, 'POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`)).statusCode, 404, 'another merchant\'s: 404');
  const res = await call(shop.secret, 'POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`);
  t.equal(res.statusCode, 200, res.body);
  const rotated = res.json();
  t.not(rotated.secret, created.secret);
  const row = (await endpointRows()).find((r) => r.id === created.id)!;
  const key = gw.ctx.config.webhooks.secretKey;
  t.equal(openSecret(key, row.id, row.secret_sealed), rotated.secret);
  t.equal(openSecret(key, row.id, row.previous_secret_sealed!), created.secret, 'the previous secret still signs');
  t.equal(row.previous_secret_expires_at!.getTime() - gw.clock.now().getTime(), 24 * 3_600_000);
});

t.test('deliveries: listed per endpoint, another merchant\'s endpoint or delivery is 404, redelivery puts it back to pending', async (t) => {
  const created = (await call(shop.secret, 'POST', '/v1/webhook-endpoints', { url: hookUrl, events: ['dispute.opened'] })).json();
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'dispute.opened', data: { id: 'd1' } }, gw.clock.now());
  const [deliveryId] = await relayMerchantEvents(gw.db, gw.clock.now());
  await gw.db.updateTable('gateway.webhook_deliveries').set({ status: 'failed', completed_at: gw.clock.now(), attempts: 14 }).where('id', '=', deliveryId!).execute();

  const list = await call(shop.secret, 'GET', `/v1/webhook-endpoints/${created.id}/deliveries`);
  t.equal(list.statusCode, 200, list.body);
  t.match(list.json().data, [{ id: deliveryId, eventType: 'dispute.opened', status: 'failed', attempts: 14 }]);
  t.equal((await call(rival.secret, 'GET', `/v1/webhook-endpoints/${created.id}/deliveries`)).statusCode, 404);
  t.equal((await call(rival.secret, 'POST', `/v1/webhook-deliveries/${deliveryId}/redeliver`)).statusCode, 404, 'another merchant cannot redeliver');
  const status = async () => (await gw.db.selectFrom('gateway.webhook_deliveries').select('status').where('id', '=', deliveryId!).executeTakeFirstOrThrow()).status;
  t.equal(await status(), 'failed', 'unchanged by the refusal');

  const again = await call(shop.secret, 'POST', `/v1/webhook-deliveries/${deliveryId}/redeliver`);
  t.equal(again.statusCode, 202, again.body);
  t.same(again.json(), { id: deliveryId, status: 'pending' });
  t.equal(await status(), 'pending');
});

t.test('delete: 204, gone from the list, again or by another merchant 404', async (t) => {
  const created = (await call(shop.secret, 'POST', '/v1/webhook-endpoints', { url: hookUrl, events: ['payment.failed'] })).json();
  t.equal((await call(rival.secret, 'DELETE', `/v1/webhook-endpoints/${created.id}`)).statusCode, 404);
  t.equal((await call(shop.secret, 'DELETE', `/v1/webhook-endpoints/${created.id}`)).statusCode, 204);
  t.equal((await call(shop.secret, 'DELETE', `/v1/webhook-endpoints/${created.id}`)).statusCode, 404, 'already disabled');
  const ids = (await call(shop.secret, 'GET', '/v1/webhook-endpoints')).json().data.map((e: { id: string }) => e.id);
  t.notOk(ids.includes(created.id));
  t.equal((await call(shop.secret, 'POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`)).statusCode, 404, 'a disabled endpoint cannot be rotated');
});

t.test('a live key lists only live endpoints', async (t) => {
  const live = await createTestKey(admin, shop.id, 'live');
  t.same((await call(live.secret, 'GET', '/v1/webhook-endpoints')).json().data, []);
});
