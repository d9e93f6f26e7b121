// Metrics (issue 17): each process serves Prometheus metrics on its private scrape listener, by
// route pattern, and the business series (payments, codes, lockouts, vault operations, each
// producer's own outbox); after real traffic carrying phones, codes, session tokens, a card number,
// its vault token and a merchant key, no exposition contains any of them (SP-16: no card data
// outside the vault; SP-5/SP-9: no codes; SP-11: lockouts counted, never by phone).
import t from 'tap';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
import { startLoadTarget } from '../../loadtest/test/support.js';
import { randomKzPhone } from '../support/clients.js';
import { randomCard } from '../support/cards.js';
import { smsReader } from '../support/sms-reader.js';
import { createTestMerchant } from '../support/merchants.js';
import type { AdminClient } from '../support/admin.js';
import { createDb, createPool } from '../../lib/db.js';
import { superuserUrl } from '../support/database.js';

// Three processes, a registration, a payment and a merchant: more than the suite's 180 s on a shared machine.
t.setTimeout(420_000);

t.test('metrics (SP-11, SP-16): per-route and business series on each process; no phone, code, token, PAN or merchant key in any exposition', async (t) => {
  const target = await startLoadTarget(t, {}, { METRICS_PORT: '0' });
  const ca = readFileSync(join(target.dir, 'pki', 'ca.crt'));
  const agent = new Agent({ connect: { ca } });
  t.teardown(() => agent.close());
  const base = target.env.BASE_URL!;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, token?: string, idempotencyKey?: string) => {
    const res = await request(`${base}${path}`, {
      method, dispatcher: agent,
      headers: {
        'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
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
  // A payment with a card entered, confirmed with its code, and an unmatched URL that carries a
  // PAN and the session token.
  const pan = randomCard();
  const payee = randomKzPhone();
  secrets.push(pan, payee, payee.replace('+', ''));
  const created = await call('POST', '/v1/payments', {
    providerId: 'kcell', amount: { value: 150_000, currency: 'KZT' }, params: { phone: payee },
    card: { number: pan, expMonth: 12, expYear: 2030, cvv: '123' },
  }, session, 'metrics-payment-1');
  t.equal(created.status, 201, 'the payment is created (the vault tokenizes the card)');
  const paymentCode = sms.code(phone)!;
  secrets.push(paymentCode);
  const confirmedPayment = await call('POST', `/v1/payments/${created.json().id as string}/confirm`, { code: paymentCode }, session);
  t.equal(confirmedPayment.status, 200, 'the payment is confirmed (the vault authorizes it)');
  const outcome = confirmedPayment.json().status as string;
  t.match(outcome, /^(succeeded|requires_action)$/);
  const vaultDb = createDb<any>(createPool(superuserUrl(target.databaseUrl), { max: 1, applicationName: 'metrics-test' }));
  t.teardown(() => vaultDb.destroy());
  const tokens = (await vaultDb.selectFrom('vault.cards').select('token').execute()).map((r) => r.token as string);
  t.equal(tokens.length, 1, 'one card in the vault');
  secrets.push(...tokens);
  t.equal((await call('GET', `/v1/nothing/${pan}/${session}`)).status, 404);

  // A merchant's secret key, used once.
  const staffAgent = new Agent({ connect: { ca, cert: readFileSync(join(target.dir, 'pki', 'admin.crt')), key: readFileSync(join(target.dir, 'pki', 'admin.key')), servername: 'localhost' } });
  t.teardown(() => staffAgent.close());
  const staff: AdminClient = {
    url: target.env.STAFF_URL!,
    async call(method, path, body) {
      const res = await request(`${target.env.STAFF_URL!}${path}`, {
        method, dispatcher: staffAgent, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
    },
  };
  const merchant = await createTestMerchant(staff);
  secrets.push(merchant.secret);
  t.equal((await call('GET', '/v1/merchant/payments?limit=1', undefined, merchant.secret)).status, 200, 'the merchant key is used');
  // Readiness asks the vault, so the vault answers at least that.
  t.equal((await call('GET', '/readyz')).status, 200);
  // SP-11: the third wrong password locks the login.
  const wrongLogins = [];
  for (let i = 0; i < 3; i += 1) wrongLogins.push((await call('POST', '/v1/sessions', { phone, password: `wrong-${i}-password` })).status);
  t.same(wrongLogins, [401, 401, 423], 'the third wrong password locks the login');

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
  t.match(vault, /pgw_http_requests_total\{[^}]*listener="vault"/, 'the vault counts its requests');
  // The business series, each with its closed labels.
  t.match(gateway, new RegExp(`pgw_payments_total\\{outcome="${outcome}",reason="none"[^}]*\\} 1\\n`), 'the payment counted by outcome');
  t.match(gateway, /pgw_otp_sms_total\{purpose="verification",result="sent"[^}]*\} 1\n/, 'the verification SMS counted as sent');
  t.match(gateway, /pgw_otp_sms_total\{purpose="payment",result="sent"[^}]*\} 1\n/, 'the payment SMS counted as sent');
  t.match(gateway, /pgw_otp_checks_total\{purpose="verification",result="otp_invalid"[^}]*\} 2\n/, 'wrong codes counted by purpose');
  t.match(gateway, /pgw_otp_checks_total\{purpose="payment",result="ok"[^}]*\} 1\n/, 'the payment code counted as right');
  t.match(gateway, /pgw_login_lockouts_total\{[^}]*\} 1\n/, 'one lockout (SP-11)');
  t.match(gateway, /pgw_vault_client_duration_seconds_count\{[^}]*operation="tokenize",outcome="ok"[^}]*\} 1\n/, 'vault latency seen by the gateway: tokenize');
  t.match(gateway, /pgw_vault_client_duration_seconds_count\{[^}]*operation="authorize",outcome="ok"[^}]*\} 1\n/, 'vault latency seen by the gateway: authorize');
  t.match(gateway, /pgw_vault_client_duration_seconds_count\{[^}]*operation="health",outcome="ok"/, 'vault latency seen by the gateway: readiness');
  t.match(vault, /pgw_vault_operations_total\{operation="tokenize",outcome="ok"[^}]*\} 1\n/, 'the vault counts a tokenize');
  t.match(vault, new RegExp(`pgw_vault_operations_total\\{operation="authorize",outcome="${outcome === 'succeeded' ? 'approved' : 'challenge_required'}"[^}]*\\} 1\\n`), 'the vault counts an authorization by outcome');
  t.match(vault, /pgw_vault_operation_duration_seconds_bucket\{[^}]*operation="authorize"/, 'the vault times its operations');
  // Each producer reports its own outbox; the worker only its queue (it reads no other schema).
  t.match(gateway, /pgw_audit_outbox_depth\{process="gateway"\} \d+/, 'the gateway\'s outbox depth');
  t.match(gateway, /pgw_audit_outbox_oldest_age_seconds\{process="gateway"\}/, 'the gateway\'s outbox age');
  t.match(vault, /pgw_audit_outbox_depth\{process="vault"\} \d+/, 'the vault\'s outbox depth');
  t.notMatch(worker, /pgw_audit_outbox_depth/, 'the worker does not report the producers\' outboxes');
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
