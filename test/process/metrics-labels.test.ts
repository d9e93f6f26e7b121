// Metrics (issue 17): each process serves Prometheus metrics on its private scrape listener, by
// route pattern; after real traffic carrying phones, codes, session tokens and a card number, no
// exposition contains any of them (SP-16: no card data outside the vault; SP-5/SP-9: no codes).
import t from 'tap';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
import { startLoadTarget } from '../../loadtest/test/support.js';
import { randomKzPhone } from '../support/clients.js';
import { randomCard } from '../support/cards.js';
import { smsReader } from '../support/sms-reader.js';

t.test('metrics: per-route counts and latency on each process; no phone, code, token or PAN in any label', async (t) => {
  const target = await startLoadTarget(t, {}, { METRICS_PORT: '0' });
  const ca = readFileSync(join(target.dir, 'pki', 'ca.crt'));
  const agent = new Agent({ connect: { ca } });
  t.teardown(() => agent.close());
  const base = target.env.BASE_URL!;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, token?: string) => {
    const res = await request(`${base}${path}`, {
      method, dispatcher: agent,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: () => JSON.parse(text) };
  };
  const sms = smsReader(join(target.dir, 'sms-outbox.jsonl'));
  const secrets: string[] = [];

  const phone = randomKzPhone();
  secrets.push(phone, phone.replace('+', ''));
  const started = await call('POST', '/v1/verifications', { phone, purpose: 'verification' });
  t.equal(started.status, 202);
  const verificationId = started.json().verificationId as string;
  secrets.push(verificationId);
  for (const wrong of ['000001', '000002']) {
    secrets.push(wrong);
    t.equal((await call('POST', `/v1/verifications/${verificationId}/confirm`, { code: wrong })).status, 400, 'a wrong code is refused');
  }
  const code = sms.code(phone)!;
  secrets.push(code);
  const confirmed = await call('POST', `/v1/verifications/${verificationId}/confirm`, { code });
  t.equal(confirmed.status, 200);
  const { verificationToken } = confirmed.json();
  secrets.push(verificationToken);
  const password = 'Steppe-Wind-42';
  secrets.push(password);
  const reg = await call('POST', '/v1/registrations', { verificationToken, name: 'Aigerim Test', birthDate: '1990-05-17', password });
  t.equal(reg.status, 201);
  const login = await call('POST', '/v1/sessions', { phone, password });
  t.equal(login.status, 201);
  const session = login.json().token as string;
  secrets.push(session);
  // A card entered for a payment, and an unmatched URL that carries a PAN and the session token.
  const pan = randomCard();
  secrets.push(pan);
  await call('POST', '/v1/payments', { amount: 1000, currency: 'KZT', providerId: 'x', card: { number: pan, expMonth: 12, expYear: 2030, cvv: '123' } }, session);
  t.equal((await call('GET', `/v1/nothing/${pan}/${session}`)).status, 404);
  // Readiness asks the vault, so the vault answers at least that.
  t.equal((await call('GET', '/readyz')).status, 200);
  for (let i = 0; i < 3; i += 1) await call('POST', '/v1/sessions', { phone, password: `wrong-${i}-password` });

  const scrape = async (port: unknown) => {
    const res = await request(`http://127.0.0.1:${String(port)}/metrics`);
    t.equal(res.statusCode, 200);
    return res.body.text();
  };
  const gateway = await scrape(target.gateway.ready.metricsPort);
  const vault = await scrape(target.vault.ready.metricsPort);
  const worker = await scrape(target.worker.ready.metricsPort);

  t.match(gateway, /pgw_http_requests_total\{[^}]*route="\/v1\/verifications\/:id\/confirm",status_code="400"[^}]*\} 2/, 'wrong codes counted by route pattern and status');
  t.match(gateway, /pgw_http_requests_total\{[^}]*route="unmatched",status_code="404"/, 'an unmatched URL is counted as unmatched');
  t.match(gateway, /pgw_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/registrations"/, 'latency histogram per route');
  t.match(gateway, /nodejs_eventloop_lag_seconds/, 'event-loop delay (default metrics)');
  t.match(vault, /pgw_http_requests_total\{[^}]*listener="vault"/, 'the vault counts its operations');
  t.match(worker, /pgw_audit_outbox_depth\{[^}]*source="gateway"/, 'audit outbox depth');
  t.match(worker, /pgw_audit_queue_lag_seconds/, 'queue lag');
  // Every label value is searched for every secret; the whole text for the long ones (a 6-digit
  // code can occur inside a sample's number, a phone, token or PAN cannot by chance).
  const leaks = (text: string) => {
    const labels = [...text.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join('\n');
    return secrets.filter((s) => labels.includes(s) || (s.length >= 10 && text.includes(s)));
  };
  for (const [name, text] of [['gateway', gateway], ['vault', vault], ['audit-worker', worker]] as const) {
    t.same(leaks(text), [], `${name}: no phone, code, token, password or PAN in the exposition`);
  }
  // The scan itself can fail: a label holding a code, and a PAN anywhere, are found.
  t.same(leaks(`${gateway}x{route="${code}"} 1\n${pan}`), [code, pan], 'the scan finds a planted code and PAN');
});
