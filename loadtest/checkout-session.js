// k6: hosted checkout (issue 15): a merchant creates a checkout session with its secret key, the
// customer pays it with a card of its own (the SMS code, KZ cards, 3 cards a month: every rule of
// a payment), and the merchant reads the session back as complete. setup() creates the merchant
// and its test key on the staff listener and one client per virtual user.
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki -e RATE=10 loadtest/checkout-session.js
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { api, enteredCard, num, setupClients, smsCode, STAFF, summary, thresholds, tlsOptions } from './lib/gateway.js';

const duration = new Trend('checkout_duration', true);
const completed = new Counter('checkout_sessions_completed');
const MAX_VUS = num('MAX_VUS', 40);

export const options = {
  ...tlsOptions(),
  scenarios: {
    checkout_session: {
      executor: 'constant-arrival-rate', exec: 'checkoutSession',
      rate: num('RATE', 10), timeUnit: '1s', duration: __ENV.DURATION || '1m',
      preAllocatedVUs: Math.min(num('VUS', 20), MAX_VUS), maxVUs: MAX_VUS,
    },
  },
  thresholds: { ...thresholds('checkout_session', 300, 600), checkout_duration: ['p(99)<1500'], checkout_sessions_completed: ['count>0'] },
};

/** @param {string} path @param {object} body */
function staff(path, body) {
  const res = http.post(`${STAFF}${path}`, JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  if (res.status !== 201) fail(`staff ${path}: ${res.status} ${String(res.body)}`);
  return res;
}

export function setup() {
  const merchant = staff('/v1/merchants', { name: 'Load Shop', providerId: 'kcell', returnOrigins: ['https://shop.example'] });
  const key = staff(`/v1/merchants/${String(merchant.json('id'))}/keys`, { mode: 'test' });
  return { secret: String(key.json('secret')), clients: setupClients(MAX_VUS, false) };
}

/** @param {{ secret: string, clients: import('./lib/gateway.js').Client[] }} data */
export function checkoutSession(data) {
  const client = data.clients[(__VU - 1) % data.clients.length];
  const started = Date.now();
  const order = `order-${__VU}-${__ITER}-${Date.now()}`;
  const session = api('POST', '/v1/checkout/sessions', {
    amount: 150000, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: `https://shop.example/done?order=${order}`, reference: order,
  }, { token: data.secret, headers: { 'idempotency-key': order } });
  if (!check(session, { 'session created (201)': (r) => r.status === 201 })) return;
  const id = String(session.json('id'));
  const paid = api('POST', `/v1/checkout/sessions/${id}/pay`, { card: enteredCard(client, __ITER) }, { token: client.token, name: 'POST /v1/checkout/sessions/:id/pay' });
  if (!check(paid, { 'session paid (201)': (r) => r.status === 201 })) return;
  const confirmed = api('POST', `/v1/payments/${String(paid.json('id'))}/confirm`, { code: smsCode(client.phone) }, { token: client.token });
  if (!check(confirmed, { 'payment succeeded': (r) => r.status === 200 && r.json('status') === 'succeeded' })) return;
  const read = api('GET', `/v1/checkout/sessions/${id}`, null, { token: data.secret, name: 'GET /v1/checkout/sessions/:id' });
  if (check(read, { 'session complete': (r) => r.status === 200 && r.json('status') === 'complete' })) {
    completed.add(1);
    duration.add(Date.now() - started);
  }
}

export const handleSummary = summary;
