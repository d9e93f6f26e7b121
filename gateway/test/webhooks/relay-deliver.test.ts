// Webhook relay and delivery (issue 15 item 4), against real PostgreSQL and a local receiver: events
// fan out only to the merchant's matching endpoints, the body is signed per Standard Webhooks, a 500
// is recorded and retried, and a delivered event is not sent again.
import t from 'tap';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent } from 'undici';
import { Webhook } from 'standardwebhooks';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { createTestMerchant } from '../../../test/support/merchants.js';
import { recordMerchantEvent } from '../../src/merchants/merchant-events.js';
import { relayMerchantEvents } from '../../src/webhooks/relay.js';
import { attemptDelivery } from '../../src/webhooks/deliver.js';
import { newWebhookSecret, sealSecret } from '../../src/webhooks/secret-box.js';
import { guardedLookup } from '../../src/webhooks/ssrf-guard.js';
import { uuidv7 } from '../../../lib/uuidv7.js';

async function addEndpoint(gw: TestGateway, key: Buffer, merchantId: string, url: string, events: string[]) {
  const id = uuidv7(gw.clock.now());
  const secret = newWebhookSecret();
  await gw.db.insertInto('gateway.webhook_endpoints').values({
    id, merchant_id: merchantId, livemode: false, url, events, secret_sealed: sealSecret(key, id, secret),
    previous_secret_sealed: null, previous_secret_expires_at: null, created_at: gw.clock.now(), disabled_at: null,
  }).execute();
  return { id, secret };
}

t.test('relay fans out to matching endpoints; delivery is signed, a 500 is retried and recorded', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const shop = await createTestMerchant(admin);
  const other = await createTestMerchant(admin, { name: 'Other' });
  const key = randomBytes(32);
  const answers = [500, 200];
  const received: { headers: Record<string, string>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(answers.shift() ?? 200).end('x'.repeat(1000));
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  t.teardown(() => receiver.close());
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const endpoint = await addEndpoint(gw, key, shop.id, url, ['payment.succeeded']);
  await addEndpoint(gw, key, other.id, url, ['payment.succeeded']);

  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'payment.succeeded', data: { amount: 100 } }, gw.clock.now());
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'refund.succeeded', data: {} }, gw.clock.now());
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: true, type: 'payment.succeeded', data: {} }, gw.clock.now());

  // Two relays at once (two gateway instances): each event claimed once.
  const [a, b] = await Promise.all([relayMerchantEvents(gw.db, gw.clock.now()), relayMerchantEvents(gw.db, gw.clock.now())]);
  const created = [...a, ...b];
  t.equal(created.length, 1, 'only the subscribed type, mode and merchant');
  t.same(await relayMerchantEvents(gw.db, gw.clock.now()), [], 'nothing relayed twice');

  const dispatcher = new Agent({ connect: { lookup: guardedLookup({ livemode: false, allowedHosts: new Set() }, 'http:') as never } });
  t.teardown(() => dispatcher.close());
  const deps = { db: gw.db, secretKey: key, dispatcherFor: () => dispatcher, timeoutMs: 5_000, now: () => new Date() };
  await t.rejects(attemptDelivery(deps, created[0]!, false), { name: 'DeliveryFailed', message: 'http_status' }, 'a 500 throws for the queue to retry');
  t.equal(await attemptDelivery(deps, created[0]!, false), 'succeeded');
  t.equal(await attemptDelivery(deps, created[0]!, false), 'skipped', 'a delivered event is not sent again');

  t.equal(received.length, 2);
  const last = received[1]!;
  const payload = new Webhook(endpoint.secret).verify(last.body, last.headers) as { type: string; data: unknown };
  t.equal(payload.type, 'payment.succeeded');
  t.same(payload.data, { amount: 100 });
  const attempts = await gw.db.selectFrom('gateway.webhook_attempts').selectAll().where('delivery_id', '=', created[0]!).orderBy('id').execute();
  t.same(attempts.map((r) => [r.status_code, r.error_class]), [[500, 'http_status'], [200, null]]);
  t.ok(attempts.every((r) => (r.response_excerpt ?? '').length <= 200), 'only a short excerpt of the answer kept');
  const delivery = await gw.db.selectFrom('gateway.webhook_deliveries').selectAll().where('id', '=', created[0]!).executeTakeFirstOrThrow();
  t.match(delivery, { status: 'succeeded', attempts: 2 });
});

t.test('the last failed attempt marks the delivery failed', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const shop = await createTestMerchant(admin);
  const key = randomBytes(32);
  // Port 9 (discard) on loopback: nothing listens, the connection is refused.
  await addEndpoint(gw, key, shop.id, 'http://127.0.0.1:9/hook', ['payment.failed']);
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'payment.failed', data: {} }, gw.clock.now());
  const [id] = await relayMerchantEvents(gw.db, gw.clock.now());
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  await t.rejects(attemptDelivery({ db: gw.db, secretKey: key, dispatcherFor: () => dispatcher, timeoutMs: 2_000, now: () => new Date() }, id!, true), { name: 'DeliveryFailed', message: 'ECONNREFUSED' });
  const delivery = await gw.db.selectFrom('gateway.webhook_deliveries').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
  t.match(delivery, { status: 'failed', attempts: 1 });
});
