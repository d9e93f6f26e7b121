// A merchant's shop, as small as an integration gets (README, "Merchants"): `GET /buy` creates a
// checkout session with the shop's secret key and redirects the customer to the bank's hosted
// page; `GET /done` is the return page, which asks the gateway how the session ended (a return
// URL is only a hint: anyone can open it); `POST /webhooks` verifies the gateway's signed events
// with the `standardwebhooks` package before believing them. Events come at least once and in no
// set order, so the shop handles each `webhook-id` once and an order's state only moves forward
// (awaiting payment → paid or expired): a late `payment.failed` of an earlier card never un-pays it.
//
//   GATEWAY_URL=https://localhost:8443 SECRET_KEY=sk_test_… WEBHOOK_SECRET=whsec_… \
//   SHOP_URL=https://shop.example PORT=4242 npx tsx examples/merchant/server.ts
//
// Return URLs must be https: with TLS_CERT_FILE and TLS_KEY_FILE the shop serves https itself
// (a shop reached directly, as in the browser tests); without them it is plain http behind its proxy.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { createGatewayClient } from '../../gateway/openapi/client.js';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`config error: missing setting ${name}`);
    process.exit(1);
  }
  return value;
}

const gatewayUrl = setting('GATEWAY_URL');
const secretKey = setting('SECRET_KEY');
const shopUrl = setting('SHOP_URL');
const webhookSecret = process.env.WEBHOOK_SECRET;
const ca = process.env.GATEWAY_CA_FILE ? readFileSync(process.env.GATEWAY_CA_FILE) : undefined;
const api = createGatewayClient({ baseUrl: gatewayUrl, token: secretKey, ...(ca ? { ca } : {}) });
const webhooks = webhookSecret ? new Webhook(webhookSecret) : undefined;
interface Order { sessionId: string; status: 'awaiting_payment' | 'paid' | 'expired'; paymentId?: string }
/** A real shop keeps its orders, and the webhook ids it handled (under a unique constraint), in its database. */
const orders = new Map<string, Order>();
const handled = new Set<string>();
interface Event { type: string; data: { id: string; reference?: string | null; paymentId?: string | null } }

/** Applies an event to its order; the order's new status, or undefined for an order not ours. */
function apply(event: Event): Order['status'] | undefined {
  const order = orders.get(event.data.reference ?? '');
  if (!order) return undefined;
  if (order.status !== 'awaiting_payment') return order.status;
  if (event.type === 'payment.succeeded') Object.assign(order, { status: 'paid', paymentId: event.data.id });
  if (event.type === 'checkout.session.completed') Object.assign(order, { status: 'paid', paymentId: event.data.paymentId });
  if (event.type === 'checkout.session.expired') order.status = 'expired';
  // payment.failed: the customer may still pay the session with another card.
  return order.status;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://shop.local');
  if (req.method === 'GET' && url.pathname === '/buy') {
    const order = url.searchParams.get('order') ?? `order-${Date.now()}`;
    const { data, error } = await api.POST('/v1/checkout/sessions', {
      body: { amount: 150_000, currency: 'KZT', params: { phone: url.searchParams.get('phone') ?? '+77011234567' }, returnUrl: `${shopUrl}/done?order=${encodeURIComponent(order)}`, cancelUrl: `${shopUrl}/done?order=${encodeURIComponent(order)}`, reference: order },
      params: { header: { 'idempotency-key': order } },
    });
    if (!data) return send(res, 502, `the gateway refused the session: ${error?.code ?? 'unknown'}`);
    orders.set(order, { sessionId: data.id, status: 'awaiting_payment' });
    return send(res, 303, `pay at ${data.url}\n`, { location: data.url, 'x-checkout-session': data.id });
  }
  if (req.method === 'GET' && url.pathname === '/done') {
    const order = orders.get(url.searchParams.get('order') ?? '');
    if (!order) return send(res, 404, 'no such order\n');
    const { data } = await api.GET('/v1/checkout/sessions/{id}', { params: { path: { id: order.sessionId } } });
    return send(res, 200, data?.status === 'complete' ? `Paid: order ${data.reference ?? ''}\n` : `Not paid (${data?.status ?? 'unknown'})\n`);
  }
  if (req.method === 'POST' && url.pathname === '/webhooks' && webhooks) {
    const payload = await body(req);
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    let event: Event;
    try {
      event = webhooks.verify(payload, headers) as Event;
    } catch {
      return send(res, 400, 'bad signature\n');
    }
    if (handled.has(headers['webhook-id'])) {
      console.log(`webhook ${headers['webhook-id']} again: already handled`);
      return send(res, 204, '');
    }
    handled.add(headers['webhook-id']);
    console.log(`webhook ${event.type} ${event.data.id}: order ${event.data.reference ?? '?'} ${apply(event) ?? 'not ours'}`);
    return send(res, 204, '');
  }
  return send(res, 404, 'not found\n');
}

const port = Number(process.env.PORT ?? 4242);
const tls = process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE
  ? { cert: readFileSync(process.env.TLS_CERT_FILE), key: readFileSync(process.env.TLS_KEY_FILE) }
  : undefined;
const listener = (req: IncomingMessage, res: ServerResponse) => {
  handle(req, res).catch((err) => {
    console.error(err);
    send(res, 500, 'error\n');
  });
};
(tls ? createHttpsServer(tls, listener) : createServer(listener))
  .listen(port, '127.0.0.1', () => console.log(`shop on ${tls ? 'https' : 'http'}://127.0.0.1:${port}`));
