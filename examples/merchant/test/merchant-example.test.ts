// The example shop (examples/merchant/server.ts) run as its own process against the gateway's real
// HTTPS listener: /buy creates a session with the shop's key and redirects to the hosted page, the
// customer pays through the public API, and the shop's return page reads the session as paid.
// The gateway's webhook dispatcher delivers the outcome to the shop's /webhooks, which verifies it
// with the `standardwebhooks` package and refuses a forged one.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { repoRoot } from '../../../lib/paths.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { lastSmsCode } from '../../../test/support/clients.js';
import { createTestMerchant } from '../../../test/support/merchants.js';
import { freePort } from '../../../test/support/net.js';
import { listenPublic } from '../../../test/support/public-listener.js';
import { uniqueName } from '../../../test/support/redis.js';
import { bearer } from '../../../test/support/merchants.js';
import { confirm, entered, kzCard, newClient, paymentsWorld } from '../../../gateway/test/payments/world.js';
import { startWebhookDispatcher } from '../../../gateway/src/webhooks/dispatcher.js';

// Signatures carry the gateway clock's time and the shop refuses old ones: the test clock starts now.
const { gw } = await paymentsWorld(t, { start: new Date().toISOString(), env: { WEBHOOK_QUEUE: uniqueName('webhooks'), WEBHOOK_RELAY_INTERVAL_MS: '20' } });
const dispatcher = startWebhookDispatcher({ db: gw.db, config: gw.ctx.config.webhooks, redisUrl: gw.ctx.config.redisUrl, clock: gw.clock, log: console as never });
gw.ctx.webhooks = dispatcher;
t.teardown(() => dispatcher.stop());
const admin = await listenAdmin(t, gw.ctx);
const listener = await listenPublic(t, gw.ctx);
const shop = await createTestMerchant(admin, { name: 'Example Shop', returnOrigins: ['https://shop.example'] });
const dir = mkdtempSync(join(tmpdir(), 'pgw-shop-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.crt'), listener.ca);
const port = await freePort();
// The shop's endpoint is registered first: its secret is the shop's WEBHOOK_SECRET setting.
const endpoint = await gw.app.inject({
  method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(shop.secret),
  payload: { url: `http://127.0.0.1:${port}/webhooks`, events: ['checkout.session.completed', 'payment.succeeded'] },
});
if (endpoint.statusCode !== 201) throw new Error(`endpoint: ${endpoint.body}`);

const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/merchant/server.ts')], {
  env: { ...process.env, GATEWAY_URL: listener.url, GATEWAY_CA_FILE: join(dir, 'ca.crt'), SECRET_KEY: shop.secret, WEBHOOK_SECRET: endpoint.json().secret, SHOP_URL: 'https://shop.example', PORT: String(port) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
t.teardown(() => { child.kill(); });
let output = '';
const outputWaiters: (() => void)[] = [];
child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); for (const w of outputWaiters.splice(0)) w(); });
/** Resolves once the shop has printed `text`. */
async function printed(text: string): Promise<void> {
  while (!output.includes(text)) await new Promise<void>((resolve) => outputWaiters.push(resolve));
}
await Promise.race([
  new Promise<void>((resolve) => child.stdout.on('data', () => { if (output.includes('shop on')) resolve(); })),
  once(child, 'exit').then(([code]) => { throw new Error(`the shop exited (${String(code)})`); }),
]);
const shopUrl = `http://127.0.0.1:${port}`;

t.test('the shop creates a session and redirects; the customer pays; the return page shows it paid', async (t) => {
  const buy = await request(`${shopUrl}/buy?order=order-1`);
  await buy.body.text();
  t.equal(buy.statusCode, 303);
  const sessionId = String(buy.headers['x-checkout-session']);
  t.equal(buy.headers.location, `${gw.ctx.config.publicUrl}/checkout/${sessionId}`, 'redirected to the hosted page');

  const before = await request(`${shopUrl}/done?order=order-1`);
  t.match(await before.body.text(), /Not paid \(open\)/, 'the return page asks the gateway, it does not trust the redirect');

  const c = await newClient(gw);
  const started = await gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${sessionId}/pay`, headers: c.auth, payload: { card: entered(kzCard()) } });
  t.equal(started.statusCode, 201);
  t.equal((await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone))).json().status, 'succeeded');

  const after = await request(`${shopUrl}/done?order=order-1`);
  t.match(await after.body.text(), /Paid: order order-1/);
});

t.test('the shop receives the outcome as webhooks it verifies with standardwebhooks', async (t) => {
  const buy = await request(`${shopUrl}/buy?order=order-2`);
  await buy.body.text();
  const sessionId = String(buy.headers['x-checkout-session']);
  const c = await newClient(gw);
  const started = await gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${sessionId}/pay`, headers: c.auth, payload: { card: entered(kzCard()) } });
  const paid = await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone));
  t.equal(paid.json().status, 'succeeded');
  await printed(`webhook checkout.session.completed ${sessionId}`);
  await printed(`webhook payment.succeeded ${started.json().id}`);
  t.pass('both events verified by the shop');

  const forged = await request(`${shopUrl}/webhooks`, {
    method: 'POST', body: JSON.stringify({ type: 'payment.succeeded', data: { id: 'forged' } }),
    headers: { 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
  });
  t.equal(forged.statusCode, 400, 'a forged webhook is refused');
  await forged.body.text();
  t.notOk(output.includes('forged'), 'and not believed');
});
