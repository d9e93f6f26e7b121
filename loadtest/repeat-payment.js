// k6: repeat payments (SP-14.2): the saved card named by `{cardId}`, confirmed with `{code}` alone
// (no CVV: the vault charges the card on file). setup() registers one client per virtual user and
// pays once with a card so it is saved.
//   SSL_CERT_FILE=.data/pki/ca.crt k6 run -e PKI_DIR=$PWD/.data/pki -e RATE=50 loadtest/repeat-payment.js
import { Counter, Trend } from 'k6/metrics';
import { num, pay, setupClients, summary, thresholds, tlsOptions } from './lib/gateway.js';

const duration = new Trend('payment_duration', true);
const succeeded = new Counter('payments_succeeded');
const MAX_VUS = num('MAX_VUS', 40);

export const options = {
  ...tlsOptions(),
  scenarios: {
    repeat_payment: {
      executor: 'constant-arrival-rate', exec: 'repeatPayment',
      rate: num('RATE', 50), timeUnit: '1s', duration: __ENV.DURATION || '1m',
      preAllocatedVUs: Math.min(num('VUS', 20), MAX_VUS), maxVUs: MAX_VUS,
    },
  },
  thresholds: { ...thresholds('repeat_payment', 150, 300), payment_duration: ['p(99)<500'], payments_succeeded: ['count>0'] },
};

export function setup() {
  return { clients: setupClients(MAX_VUS, true) };
}

/** @param {{ clients: import('./lib/gateway.js').Client[] }} data */
export function repeatPayment(data) {
  const client = data.clients[(__VU - 1) % data.clients.length];
  const started = Date.now();
  if (pay(client, { cardId: client.cardId }, 'repeat')) {
    succeeded.add(1);
    duration.add(Date.now() - started);
  }
}

export const handleSummary = summary;
