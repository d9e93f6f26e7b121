// k6: a realistic mix at one total arrival rate (RATE per second): clients reading their profile
// and payments, repeat payments with saved cards, first payments with a card entered, new
// registrations and a wrong-password flood. The shares follow a day of the wallet app: mostly
// reads and repeat payments. setup() registers one client with a saved card per virtual user.
// The merchant checkout session (hosted checkout paid by a client) joins as one more entry of
// SHARES and one more exec function when the merchant API lands (loadtest/README.md).
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki -e RATE=100 loadtest/mix.js
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { api, enteredCard, num, pay, randomPhone, register, setupClients, summary, thresholds, tlsOptions } from './lib/gateway.js';

const duration = new Trend('payment_duration', true);
const succeeded = new Counter('payments_succeeded');
const attackRefused = new Rate('attack_refused');

/** Share of the total rate per scenario (exec function of the same name). */
const SHARES = { browse: 0.4, repeat_payment: 0.3, first_payment: 0.1, registration: 0.05, attacker: 0.15 };
const RATE = num('RATE', 100);
const VUS_EACH = num('MAX_VUS', 20);

/** @type {Record<string, object>} */
const scenarios = {};
for (const [name, share] of Object.entries(SHARES)) {
  scenarios[name] = {
    executor: 'ramping-arrival-rate', exec: name, startRate: 0, timeUnit: '1s',
    stages: [{ target: Math.max(1, Math.round(RATE * share)), duration: __ENV.RAMP || '10s' }, { target: Math.max(1, Math.round(RATE * share)), duration: __ENV.DURATION || '1m' }],
    preAllocatedVUs: Math.min(num('VUS', 5), VUS_EACH), maxVUs: VUS_EACH,
  };
}

export const options = {
  ...tlsOptions(),
  scenarios,
  thresholds: {
    ...thresholds('browse', 100, 250),
    ...thresholds('repeat_payment', 150, 300),
    ...thresholds('first_payment', 300, 600),
    ...thresholds('registration', 300, 800),
    payment_duration: ['p(99)<1000'],
    payments_succeeded: ['count>0'],
    attack_refused: ['rate==1'],
  },
};

// One client per virtual user of every scenario: a VU's id (__VU) is unique across scenarios.
export function setup() {
  return { clients: setupClients(VUS_EACH * Object.keys(SHARES).length, true) };
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
const mine = (data) => data.clients[(__VU - 1) % data.clients.length];

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function browse(data) {
  const { token } = mine(data);
  check(api('GET', '/v1/me', null, { token }), { 'profile read (200)': (r) => r.status === 200 });
  check(api('GET', '/v1/payments?limit=5', null, { token, name: 'GET /v1/payments' }), { 'payments listed (200)': (r) => r.status === 200 });
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function repeat_payment(data) {
  const client = mine(data);
  const started = Date.now();
  if (pay(client, { cardId: client.cardId }, 'repeat')) {
    succeeded.add(1);
    duration.add(Date.now() - started, { kind: 'repeat' });
  }
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function first_payment(data) {
  const client = mine(data);
  const started = Date.now();
  if (pay(client, enteredCard(client, __ITER), 'first')) {
    succeeded.add(1);
    duration.add(Date.now() - started, { kind: 'first' });
  }
}

export function registration() {
  register(randomPhone(), `Load-${Math.random().toString(36).slice(2, 10)}-42`);
}

export function attacker() {
  const r = api('POST', '/v1/sessions', { phone: randomPhone(), password: 'wrong-password-1' }, { name: 'POST /v1/sessions (wrong password)', expected: [401, 423, 429] });
  attackRefused.add(check(r, { 'wrong password refused': (res) => [401, 423, 429].includes(res.status) }));
}

export const handleSummary = summary;
