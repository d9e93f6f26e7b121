// The example shop (examples/merchant/server.ts) run as its own process against the gateway's real
// HTTPS listener: /buy creates a session with the shop's key and redirects to the hosted page, the
// customer pays through the public API, and the shop's return page reads the session as paid.
// The webhook half (the shop verifying a delivery with standardwebhooks) comes with the webhook
// dispatcher.
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
import { confirm, entered, kzCard, newClient, paymentsWorld } from '../../../gateway/test/payments/world.js';

const { gw } = await paymentsWorld(t);
const admin = await listenAdmin(t, gw.ctx);
const listener = await listenPublic(t, gw.ctx);
const shop = await createTestMerchant(admin, { name: 'Example Shop', returnOrigins: ['https://shop.example'] });
const dir = mkdtempSync(join(tmpdir(), 'pgw-shop-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.crt'), listener.ca);
const port = await freePort();

const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/merchant/server.ts')], {
  env: { ...process.env, GATEWAY_URL: listener.url, GATEWAY_CA_FILE: join(dir, 'ca.crt'), SECRET_KEY: shop.secret, SHOP_URL: 'https://shop.example', PORT: String(port) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
t.teardown(() => { child.kill(); });
let output = '';
child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
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
