// k6 load test: card payments end to end (create + confirm with the SMS code), for users with k6
// (it cannot run on the build machine; `npm run bench:payments` measures the same flow there).
//
//   k6 run -e BASE_URL=https://gateway.example:8443 -e CLIENTS_FILE=clients.json loadtest/payments.js
//
// CLIENTS_FILE: JSON array of {"token": "<session token>", "phone": "+7…", "cardId": "<saved card id>"}
// for pre-registered test clients (SP-14.2 repeat payments: confirmed with the code alone, the
// card charged on file), one per virtual user; each card needs one approved payment first.
// CODE_URL: an endpoint of your SMS test double answering GET ?phone=… with {"code": "123456"};
// against `npm start` the codes are in .data/sms-outbox.jsonl, so point CODE_URL at a small
// reader of that file. Thresholds follow the target: p99 of a whole payment ≤ 150 ms, < 1% errors.
import http from 'k6/http';
import { check, fail } from 'k6';
import { SharedArray } from 'k6/data';
import { Trend, Counter } from 'k6/metrics';

const BASE = __ENV.BASE_URL || 'https://localhost:8443';
const CODE_URL = __ENV.CODE_URL || 'http://127.0.0.1:8089/codes';
const clients = new SharedArray('clients', () => JSON.parse(open(__ENV.CLIENTS_FILE || './clients.json')));

const paymentDuration = new Trend('payment_duration', true);
const completed = new Counter('payments_completed');

export const options = {
  insecureSkipTLSVerify: __ENV.INSECURE === '1',
  scenarios: {
    payments: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 300),
      timeUnit: '1s',
      duration: __ENV.DURATION || '1m',
      preAllocatedVUs: Number(__ENV.VUS || 64),
      maxVUs: Number(__ENV.MAX_VUS || 256),
    },
  },
  thresholds: {
    payment_duration: ['p(99)<150'],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const client = clients[(__VU - 1) % clients.length];
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${client.token}` };
  const started = Date.now();
  const created = http.post(`${BASE}/v1/payments`, JSON.stringify({
    providerId: 'kcell',
    amount: { value: 150000, currency: 'KZT' },
    params: { phone: '+77011234567' },
    card: { cardId: client.cardId },
  }), { headers: { ...headers, 'idempotency-key': `${__VU}-${__ITER}-${started}` }, tags: { step: 'create' } });
  if (!check(created, { 'payment created (201)': (r) => r.status === 201 })) return;
  const payment = created.json();
  const code = http.get(`${CODE_URL}?phone=${encodeURIComponent(client.phone || '')}&payment=${payment.id}`, { tags: { step: 'code' } });
  if (code.status !== 200) fail(`no SMS code for payment ${payment.id}`);
  const confirmed = http.post(`${BASE}/v1/payments/${payment.id}/confirm`, JSON.stringify({
    code: code.json().code,
  }), { headers, tags: { step: 'confirm' } });
  const ok = check(confirmed, {
    'confirm answered 200': (r) => r.status === 200,
    'payment succeeded': (r) => r.status === 200 && r.json().status === 'succeeded',
  });
  if (ok) {
    completed.add(1);
    paymentDuration.add(Date.now() - started);
  }
}
