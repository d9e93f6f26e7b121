// A merchant's shop for the browser tests: the example shop (examples/merchant/server.ts) as its own
// process on https://localhost (a certificate of the test CA; return URLs must be https), with a
// merchant made on the staff listener whose return origin is the shop's, and the shop's webhook
// endpoint registered with the gateway so the shop hears, and verifies, how each checkout ended.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { repoRoot } from '../../lib/paths.js';
import { issueCertificate } from '../../lib/pki.js';
import { bearer, createTestMerchant, type TestMerchant } from '../../test/support/merchants.js';
import { freePort } from '../../test/support/net.js';
import { pkiFile, testPkiDir } from '../../test/support/pki.js';
import type { BrowserWorld } from './world.js';

interface Teardown { teardown(fn: () => unknown): void }

export interface Shop {
  origin: string;
  merchant: TestMerchant;
  /** The merchant API with the shop's secret key (status and body). */
  api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Resolves once the shop has printed `text` (it prints each webhook it verified). */
  printed(text: string): Promise<void>;
}

export async function startShop(t: Teardown, w: BrowserWorld): Promise<Shop> {
  const port = await freePort();
  const origin = `https://localhost:${String(port)}`;
  const merchant = await createTestMerchant(w.staff, { name: 'Example Shop', returnOrigins: [origin] });
  const gatewayAgent = new Agent({ connect: { ca: pkiFile('ca.crt') } });
  t.teardown(() => gatewayAgent.close());
  async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await request(`${w.origin}${path}`, {
      method, dispatcher: gatewayAgent,
      headers: { ...bearer(merchant.secret), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  }
  const endpoint = await api('POST', '/v1/webhook-endpoints', { url: `${origin}/webhooks`, events: ['checkout.session.completed'] });
  if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${String(endpoint.status)} ${JSON.stringify(endpoint.body)}`);

  const dir = mkdtempSync(join(tmpdir(), 'pgw-shop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = { certPem: pkiFile('ca.crt').toString(), keyPem: pkiFile('ca.key').toString() };
  const tls = issueCertificate({ commonName: 'localhost', usage: 'server', issuer: ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(dir, 'shop.crt'), tls.certPem);
  writeFileSync(join(dir, 'shop.key'), tls.keyPem, { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/merchant/server.ts')], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      GATEWAY_URL: w.origin, GATEWAY_CA_FILE: join(testPkiDir(), 'ca.crt'), SECRET_KEY: merchant.secret, WEBHOOK_SECRET: endpoint.body.secret,
      SHOP_URL: origin, PORT: String(port), TLS_CERT_FILE: join(dir, 'shop.crt'), TLS_KEY_FILE: join(dir, 'shop.key'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => { child.kill(); });
  let output = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); for (const wake of waiters.splice(0)) wake(); });
  async function printed(text: string): Promise<void> {
    while (!output.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
  }
  await Promise.race([printed('shop on https://'), once(child, 'exit').then(([code]) => { throw new Error(`the shop exited (${String(code)})`); })]);
  w.allowOrigin(origin);
  return { origin, merchant, api, printed };
}
