// What every k6 script here shares: where the gateway is, TLS, the sandbox code reader, and the
// client flows (register, log in, pay). Plain k6 JavaScript (k6 >= v0.45, no remote modules),
// type-checked against @types/k6 (loadtest/tsconfig.json).
//
// Settings (k6 run -e NAME=value, or the environment):
//   BASE_URL     public listener (https://localhost:8443)
//   STAFF_URL    staff listener, mutual TLS (https://127.0.0.1:8445)
//   STAFF_CERT / STAFF_KEY  the staff client certificate (PKI_DIR/admin.crt, PKI_DIR/admin.key);
//                PKI_DIR defaults to ../.data/pki (npm start's development PKI). Use absolute paths.
//   The gateway's CA: k6 trusts the system store, so run k6 with SSL_CERT_FILE=.data/pki/ca.crt
//   (or INSECURE=1 to skip verification against a throwaway environment only).
import http from 'k6/http';
import { check, fail, sleep } from 'k6';

export const BASE = __ENV.BASE_URL || 'https://localhost:8443';
export const STAFF = __ENV.STAFF_URL || 'https://127.0.0.1:8445';
const PKI = __ENV.PKI_DIR || '../.data/pki';

/** Options every script shares: TLS and the staff certificate the code reader presents. */
export function tlsOptions() {
  return {
    insecureSkipTLSVerify: __ENV.INSECURE === '1',
    tlsAuth: [{ cert: open(__ENV.STAFF_CERT || `${PKI}/admin.crt`), key: open(__ENV.STAFF_KEY || `${PKI}/admin.key`) }],
  };
}

/** A number from __ENV, or the fallback. */
export function num(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

/** Thresholds every flow keeps: latency of the flow's requests, errors, checks. */
export function thresholds(scenario, p95, p99) {
  return {
    [`http_req_duration{scenario:${scenario}}`]: [`p(95)<${p95}`, `p(99)<${p99}`],
    [`http_req_failed{scenario:${scenario}}`]: ['rate<0.01'],
    [`checks{scenario:${scenario}}`]: ['rate>0.99'],
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * @param {string} method
 * @param {string} path
 * @param {object | null} body
 * @param {{ token?: string, headers?: Record<string, string>, name?: string, expected?: number[] }} [opts]
 */
export function api(method, path, body, opts = {}) {
  const headers = { ...JSON_HEADERS, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.headers || {}) };
  /** @type {import('k6/http').RefinedParams<'text'>} */
  const params = { headers, tags: { name: opts.name || `${method} ${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, ':id')}` } };
  if (opts.expected) params.responseCallback = http.expectedStatuses(...opts.expected);
  return http.request(method, `${BASE}${path}`, body === null ? null : JSON.stringify(body), params);
}

/** The newest SMS code sent to `phone`, from the sandbox-only staff endpoint (never in production). */
export function smsCode(phone) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = http.get(`${STAFF}/v1/sandbox/sms-codes/latest?phone=${encodeURIComponent(phone)}`, { tags: { name: 'sandbox SMS code' } });
    if (res.status === 200) return String(res.json('code'));
    sleep(0.05);
  }
  return fail(`no SMS code for ${phone}`);
}

/** A random Kazakh mobile number (+7707…): the gateway serves KZ phones only (SP-6). */
export function randomPhone() {
  return `+7707${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
}

/** A Luhn-valid card of a Kazakh BIN with random digits (never one of the sandbox's special cards). */
export function randomCard(bin = '440043') {
  let body = bin;
  while (body.length < 15) body += String(Math.floor(Math.random() * 10));
  if (/^0+$/.test(body.slice(bin.length))) return randomCard(bin);
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = Number(body[14 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Verification, code, registration (SP-5): returns whether the client now exists. */
export function register(phone, password) {
  const v = api('POST', '/v1/verifications', { phone }, { name: 'POST /v1/verifications' });
  if (!check(v, { 'verification sent (202)': (r) => r.status === 202 })) return false;
  const c = api('POST', `/v1/verifications/${v.json('verificationId')}/confirm`, { code: smsCode(phone) });
  if (!check(c, { 'phone verified (200)': (r) => r.status === 200 })) return false;
  const r = api('POST', '/v1/registrations', { verificationToken: c.json('verificationToken'), name: 'Load Test', birthDate: '1990-05-17', password });
  return check(r, { 'registered (201)': (res) => res.status === 201 });
}

/** Logs in; returns the session token, or undefined. */
export function login(phone, password) {
  const s = api('POST', '/v1/sessions', { phone, password });
  return check(s, { 'logged in (201)': (r) => r.status === 201 }) ? String(s.json('token')) : undefined;
}

/**
 * @typedef {{ phone: string, password: string, token: string, cards: string[], cardId?: string }} Client
 * A registered, logged-in client with three cards of its own (SP-15.3 allows three a month).
 */

/** Registers and logs in a fresh client; `withSavedCard`: also pays once with a card, so it is saved. */
export function newClient(withSavedCard) {
  const phone = randomPhone();
  const password = `Load-${Math.random().toString(36).slice(2, 10)}-42`;
  if (!register(phone, password)) return fail(`registration of ${phone} failed`);
  const token = login(phone, password);
  if (!token) return fail(`login of ${phone} failed`);
  /** @type {Client} */
  const client = { phone, password, token, cards: [randomCard(), randomCard(), randomCard('539545')] };
  if (withSavedCard) {
    const paid = pay(client, enteredCard(client, 0), 'first');
    if (!paid) return fail(`first payment of ${phone} failed`);
    client.cardId = paid.cardId;
  }
  return client;
}

/** SP-14.1: the card as entered, with its CVV; the client's n-th card of three. */
export function enteredCard(client, n) {
  return { number: client.cards[n % client.cards.length], expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvv: '123' };
}

/**
 * One payment: create, read the SMS code, confirm with `{code}` only (a saved card is charged on
 * file: no CVV, SP-14.2). Returns the payment id and its card's id when it succeeded.
 * @param {Client} client
 * @param {object} card `{number, expMonth, expYear, cvv}` or `{cardId}`
 * @param {string} kind a tag: first | repeat
 */
export function pay(client, card, kind) {
  const created = api('POST', '/v1/payments', {
    providerId: 'kcell', amount: { value: 150000, currency: 'KZT' }, params: { phone: '+77011234567' }, card,
  }, { token: client.token, headers: { 'idempotency-key': `${kind}-${client.phone}-${Date.now()}-${Math.random()}` } });
  if (!check(created, { [`${kind} payment created (201)`]: (r) => r.status === 201 })) return undefined;
  const id = String(created.json('id'));
  const confirmed = api('POST', `/v1/payments/${id}/confirm`, { code: smsCode(client.phone) }, { token: client.token });
  const ok = check(confirmed, { [`${kind} payment succeeded`]: (r) => r.status === 200 && r.json('status') === 'succeeded' });
  return ok ? { id, cardId: String(created.json('card.id')) } : undefined;
}

/** Clients for setup(): `count` fresh ones, registered through the public API. */
export function setupClients(count, withSavedCard) {
  /** @type {Client[]} */
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(newClient(withSavedCard));
  return clients;
}

/**
 * handleSummary written here (no remote jslib): a short text report to stdout and the whole
 * summary as JSON to SUMMARY_FILE when set.
 * @param {any} data
 */
export function summary(data) {
  const lines = [];
  for (const [name, metric] of Object.entries(data.metrics)) {
    const values = Object.entries(metric.values).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 100) / 100 : v}`).join(' ');
    const verdicts = metric.thresholds ? Object.entries(metric.thresholds).map(([t, r]) => `${r.ok ? 'ok' : 'FAILED'} ${t}`).join('; ') : '';
    lines.push(`${name.padEnd(48)} ${values}${verdicts ? `   [${verdicts}]` : ''}`);
  }
  /** @type {Record<string, string>} */
  const out = { stdout: `${lines.join('\n')}\n` };
  if (__ENV.SUMMARY_FILE) out[__ENV.SUMMARY_FILE] = JSON.stringify(data, null, 2);
  return out;
}
