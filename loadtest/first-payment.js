// k6: first payments (SP-14.1): the card entered with its CVV, tokenized by the vault, confirmed
// with the SMS code (SP-15.2). Each client rotates over its three cards (SP-15.3). setup()
// registers one client per virtual user: a client pays one payment at a time, as a phone does.
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki -e RATE=20 loadtest/first-payment.js
import { Counter, Trend } from 'k6/metrics';
import { enteredCard, num, pay, setupClients, summary, thresholds, tlsOptions } from './lib/gateway.js';

const duration = new Trend('payment_duration', true);
const succeeded = new Counter('payments_succeeded');
const MAX_VUS = num('MAX_VUS', 40);

export const options = {
  ...tlsOptions(),
  scenarios: {
    first_payment: {
      executor: 'constant-arrival-rate', exec: 'firstPayment',
      rate: num('RATE', 20), timeUnit: '1s', duration: __ENV.DURATION || '1m',
      preAllocatedVUs: Math.min(num('VUS', 20), MAX_VUS), maxVUs: MAX_VUS,
    },
  },
  thresholds: { ...thresholds('first_payment', 300, 600), payment_duration: ['p(99)<1000'], payments_succeeded: ['count>0'] },
};

export function setup() {
  return { clients: setupClients(MAX_VUS, false) };
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function firstPayment(data) {
  const client = data.clients[(__VU - 1) % data.clients.length];
  const started = Date.now();
  if (pay(client, enteredCard(client, __ITER), 'first')) {
    succeeded.add(1);
    duration.add(Date.now() - started);
  }
}

export const handleSummary = summary;
