// The example shop (examples/merchant/server.ts) end to end against the processes `npm start` runs:
// vault, audit-worker and gateway each their own process (test/support/load-target.ts), the
// gateway's webhook dispatcher on. Staff create the merchant and its key on the staff listener over
// mutual TLS; the shop and the test call the gateway through the typed client over HTTPS, as a
// merchant would; the customer pays through the public API with the SMS codes of the sandbox staff
// route. The shop's /webhooks is reached through a relay standing for the network between the bank
// and the shop: it passes deliveries on unchanged, or holds them and hands them on in another order.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { createGatewayClient } from '../../../gateway/openapi/client.js';
import { repoRoot } from '../../../lib/paths.js';
import { staffClient } from '../../../test/support/admin.js';
import { randomCard } from '../../../test/support/cards.js';
import { payCheckoutSession, registerHttpsCustomer } from '../../../test/support/https-customer.js';
import { startLoadTarget } from '../../../test/support/load-target.js';
import { createTestMerchant } from '../../../test/support/merchants.js';
import { freePort } from '../../../test/support/net.js';
import { uniqueName } from '../../../test/support/redis.js';

const DECLINED = '4400430000000031';
const target = await startLoadTarget(t, {
  // Development mode runs the dispatcher by default; said here because the test depends on it.
  WEBHOOKS_ENABLED: 'true', WEBHOOK_QUEUE: uniqueName('webhooks'), WEBHOOK_RELAY_INTERVAL_MS: '50',
  // The relay may hold a delivery while the test pays; the gateway must wait for its answer.
  WEBHOOK_TIMEOUT_MS: '60000',
});
const pkiFile = (name: string) => readFileSync(join(target.env.PKI_DIR!, name));
const staff = staffClient(t, target.env.STAFF_URL!, pkiFile);
const merchant = await createTestMerchant(staff, { name: 'Example Shop', returnOrigins: ['https://shop.example'] });
const publicApi = createGatewayClient({ baseUrl: target.env.BASE_URL!, ca: pkiFile('ca.crt') });
t.teardown(() => publicApi.close());
const api = publicApi.withToken(merchant.secret);

interface Delivery { headers: IncomingHttpHeaders; body: string; forward(): Promise<number> }
const shopPort = await freePort();
let holding = false;
const held: Delivery[] = [];
const heldWaiters: (() => void)[] = [];
const relay = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const forward = async () => {
      const headers = Object.fromEntries(['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])]));
      const answer = await request(`http://127.0.0.1:${shopPort}/webhooks`, { method: 'POST', headers, body });
      await answer.body.text();
      res.writeHead(answer.statusCode).end();
      return answer.statusCode;
    };
    if (!holding) return void forward().catch(() => res.writeHead(502).end());
    held.push({ headers: req.headers, body, forward });
    for (const w of heldWaiters.splice(0)) w();
  });
});
relay.listen(0, '127.0.0.1');
await once(relay, 'listening');
t.teardown(() => relay.close());

// A test key may send events over http:// to loopback (design.md); a live key could not.
const endpoint = await api.POST('/v1/webhook-endpoints', {
  body: { url: `http://127.0.0.1:${(relay.address() as { port: number }).port}/webhooks`, events: ['checkout.session.completed', 'payment.succeeded', 'payment.failed'] },
});
if (!endpoint.data) throw new Error(`endpoint: ${endpoint.response.status}`);

const shop = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/merchant/server.ts')], {
  env: {
    PATH: process.env.PATH, GATEWAY_URL: target.env.BASE_URL, GATEWAY_CA_FILE: join(target.env.PKI_DIR!, 'ca.crt'), SECRET_KEY: merchant.secret,
    WEBHOOK_SECRET: endpoint.data.secret, SHOP_URL: 'https://shop.example', PORT: String(shopPort),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
t.teardown(() => { shop.kill(); });
let output = '';
const outputWaiters: (() => void)[] = [];
shop.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); for (const w of outputWaiters.splice(0)) w(); });
/** Resolves once the shop has printed `text` (tap's time-out bounds the wait). */
async function printed(text: string): Promise<void> {
  while (!output.includes(text)) await new Promise<void>((resolve) => outputWaiters.push(resolve));
}
await Promise.race([printed('shop on'), once(shop, 'exit').then(([code]) => { throw new Error(`the shop exited (${String(code)})`); })]);
const shopUrl = `http://127.0.0.1:${shopPort}`;

async function get(path: string): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const res = await request(`${shopUrl}${path}`);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The customer follows the shop's redirect: the session the hosted page shows. */
async function buy(order: string): Promise<string> {
  const res = await get(`/buy?order=${order}`);
  if (res.status !== 303) throw new Error(`buy: ${res.status} ${res.text}`);
  const sessionId = String(res.headers['x-checkout-session']);
  if (!String(res.headers.location).endsWith(`/checkout/${sessionId}`)) throw new Error(`redirected to ${String(res.headers.location)}`);
  return sessionId;
}

t.test('the shop creates a session and redirects; the customer pays; the return page and the verified webhooks say paid', async (t) => {
  const sessionId = await buy('order-1');
  const page = await publicApi.GET('/v1/checkout/sessions/{id}/public', { params: { path: { id: sessionId } } });
  t.match(page.data, { merchant: { name: 'Example Shop' }, amount: { value: 150_000, currency: 'KZT' }, status: 'open' }, 'the hosted page shows the shop\'s amount');
  t.match((await get('/done?order=order-1')).text, /Not paid \(open\)/, 'the return page asks the gateway, it does not trust the redirect');

  const customer = await registerHttpsCustomer(publicApi, staff);
  const paid = await payCheckoutSession(customer, staff, sessionId, randomCard('440043'));
  t.equal(paid.status, 'succeeded');
  t.match((await get('/done?order=order-1')).text, /Paid: order order-1/);

  await printed(`webhook checkout.session.completed ${sessionId}: order order-1 paid`);
  await printed(`webhook payment.succeeded ${paid.id}: order order-1 paid`);
  const session = await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: sessionId } } });
  t.match(session.data, { status: 'complete', paymentId: paid.id, reference: 'order-1' }, 'the merchant reads the session with its key');
});

t.test('a forged webhook is refused and not believed', async (t) => {
  const forged = await request(`${shopUrl}/webhooks`, {
    method: 'POST', body: JSON.stringify({ type: 'payment.succeeded', data: { id: 'forged', reference: 'order-1' } }),
    headers: { 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
  });
  t.equal(forged.statusCode, 400);
  await forged.body.text();
  t.notOk(output.includes('forged'), 'nothing of it printed');
});

t.test('event order not assumed: events handed on out of order and again leave the order paid, each handled once', async (t) => {
  holding = true;
  const sessionId = await buy('order-3');
  const customer = await registerHttpsCustomer(publicApi, staff);
  const declined = await payCheckoutSession(customer, staff, sessionId, DECLINED);
  t.equal(declined.status, 'declined', 'the first card is declined; the session stays open');
  const paid = await payCheckoutSession(customer, staff, sessionId, randomCard('440043'));
  t.equal(paid.status, 'succeeded');
  while (held.length < 3) await new Promise<void>((resolve) => heldWaiters.push(resolve));
  holding = false;

  const events = held.map((d) => ({ delivery: d, event: JSON.parse(d.body) as { id: string; type: string; createdAt: string; data: { id: string; status: string } } }));
  t.same(events.map((e) => e.event.type).sort(), ['checkout.session.completed', 'payment.failed', 'payment.succeeded']);
  t.ok(events.every((e) => !Number.isNaN(Date.parse(e.event.createdAt)) && typeof e.event.data.status === 'string'),
    'each event carries its time and the object\'s state, what a receiver orders by');
  const byType = (type: string) => events.find((e) => e.event.type === type)!;
  // The payment first, the session next, the earlier card's failure last.
  for (const type of ['payment.succeeded', 'checkout.session.completed', 'payment.failed']) t.equal(await byType(type).delivery.forward(), 204, type);
  await printed(`webhook payment.succeeded ${paid.id}: order order-3 paid`);
  await printed(`webhook checkout.session.completed ${sessionId}: order order-3 paid`);
  await printed(`webhook payment.failed ${declined.id}: order order-3 paid`);

  const deliveries = await api.GET('/v1/webhook-endpoints/{id}/deliveries', { params: { path: { id: endpoint.data!.id } } });
  const succeeded = deliveries.data!.data.find((d) => d.eventId === byType('payment.succeeded').event.id);
  t.equal(succeeded?.status, 'succeeded');
  const again = await api.POST('/v1/webhook-deliveries/{id}/redeliver', { params: { path: { id: succeeded!.id } } });
  t.equal(again.response.status, 202);
  await printed(`webhook ${byType('payment.succeeded').event.id} again: already handled`);
  t.match((await get('/done?order=order-3')).text, /Paid: order order-3/);
});
