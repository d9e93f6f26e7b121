// Pool exhaustion (issue 13, SMS half): a code is stored in the request's transaction and its SMS
// is sent only after the commit, so a stalled SMS provider holds no database connection. Against
// the real gateway process with a 3-connection pool and the real HTTP SMS adapter talking to a
// local HTTPS server that stands in for the provider and can be told to stop answering. A send
// that fails after the commit answers 503 as before; the code stays bound to a request the client
// has no use for, and the client starts a new one.
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { DomainError } from '../../src/errors.js';
import type { SmsProvider } from '../../src/identity/sms.provider.js';
import { auditEvents, lastSmsCode, randomKzPhone, verifyPhone } from '../../../test/support/clients.js';
import { startGatewayProcess } from '../../../test/support/gateway.js';
import { pkiFile, testPkiDir } from '../../../test/support/pki.js';
import { CARDS, confirm, create, entered, newClient, paymentBody, paymentsWorld } from '../payments/world.js';

interface SmsServer {
  url: URL;
  /** Every message received, answered or not. */
  received: Array<{ to: string; text: string }>;
  /** Stop answering: requests are held until release(). */
  stall(): void;
  release(): void;
  /** Resolves once at least n messages arrived. */
  arrived(n: number): Promise<void>;
}

async function smsServer(t: Test): Promise<SmsServer> {
  const received: SmsServer['received'] = [];
  const held: ServerResponse[] = [];
  const waiters: Array<{ n: number; resolve(): void }> = [];
  let stalled = false;
  const server = createServer({ cert: pkiFile('public.crt'), key: pkiFile('public.key') }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push(JSON.parse(body) as { to: string; text: string });
      for (const w of waiters.filter((x) => received.length >= x.n)) w.resolve();
      if (stalled) held.push(res);
      else res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return {
    url: new URL(`https://localhost:${(server.address() as AddressInfo).port}/v1/messages`),
    received,
    stall: () => { stalled = true; },
    release: () => {
      stalled = false;
      for (const res of held.splice(0)) res.writeHead(202).end();
    },
    arrived: (n) => (received.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

t.test('SP-5.1 / pool exhaustion: verifications stalled on the SMS provider leave the database pool to other routes', async (t) => {
  const sms = await smsServer(t);
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-sms-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  writeFileSync(join(scratch, 'sms-token'), 'sms-token-for-tests\n');
  const gateway = await startGatewayProcess(t, {
    GATEWAY_DB_POOL: '3',
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: sms.url.href,
    SMS_HTTP_TOKEN_FILE: join(scratch, 'sms-token'),
    SMS_HTTP_CA_FILE: join(testPkiDir(), 'ca.crt'),
    // Far longer than the test needs: on the old code the stalled sends would hold the pool this long.
    SMS_HTTP_TIMEOUT_MS: '30000',
    VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
  });
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), servername: 'localhost' } });
  t.teardown(() => agent.close());
  const base = `https://127.0.0.1:${Number(gateway.ready.publicPort)}`;
  const call = async (method: 'GET' | 'POST', path: string, body?: object, token?: string) => {
    const res = await request(`${base}${path}`, {
      method,
      dispatcher: agent,
      headers: { host: 'localhost', ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? JSON.parse(text) as Record<string, unknown> : {} };
  };

  // A client, registered while the provider still answers (its code read from what the provider got).
  const phone = randomKzPhone();
  const password = 'Steppe-Wind-42';
  const started = await call('POST', '/v1/verifications', { phone });
  t.equal(started.status, 202);
  const code = /\b(\d{6})\b/.exec(sms.received.at(-1)!.text)![1]!;
  const confirmed = await call('POST', `/v1/verifications/${String(started.json.verificationId)}/confirm`, { code });
  t.equal(confirmed.status, 200);
  const registered = await call('POST', '/v1/registrations', { verificationToken: confirmed.json.verificationToken, name: 'Pool Test', birthDate: '1990-05-17', password });
  t.equal(registered.status, 201);
  const token = String((await call('POST', '/v1/sessions', { phone, password })).json.token);

  sms.stall();
  const before = sms.received.length;
  let settled = 0;
  const stalled = Array.from({ length: 6 }, () => call('POST', '/v1/verifications', { phone: randomKzPhone() }).finally(() => { settled++; }));
  // Three sends are in the provider's hands: on the old code each one holds one of the 3 connections.
  await sms.arrived(before + 3);

  const providers = await call('GET', '/v1/providers', undefined, token);
  t.equal(providers.status, 200, 'an authenticated read gets a connection');
  t.equal(settled, 0, 'it answered while every verification still waited for the provider');
  const login = await call('POST', '/v1/sessions', { phone: randomKzPhone(), password: 'Wrong-Pass-1' });
  t.equal(login.status, 401, 'a login is evaluated too');
  t.equal(settled, 0, 'still while the provider stalls');
  await sms.arrived(before + 6);
  t.equal(settled, 0, 'all six sends reached the provider at once, none waiting for a connection');

  sms.release();
  const answers = await Promise.all(stalled);
  t.same(answers.map((a) => a.status), [202, 202, 202, 202, 202, 202], 'each verification answers once its SMS is out');
});

t.test('SP-5.1: an SMS that fails after the commit answers 503 as before, is audited, and a new request works', async (t) => {
  const { gw, clock } = await paymentsWorld(t);
  const c = await newClient(gw);
  const working = gw.ctx.sms;
  const down: SmsProvider = {
    send: async () => { throw new DomainError('service_unavailable', 'the SMS provider could not be reached', { 'retry-after': '30' }); },
    close: async () => undefined,
  };
  gw.ctx.sms = down;
  clock.advance(2 * 60_000); // past the registration code's cool-down

  const failures = [
    await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: c.phone, purpose: 'password_reset' } }),
    await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: c.auth, payload: { currentPassword: c.password, newPassword: 'Fresh-Snow-2026' } }),
    await create(gw, c, paymentBody(entered(CARDS.frictionless))),
  ];
  t.same(failures.map((r) => [r.statusCode, r.json().code, r.headers['retry-after']]), Array(3).fill([503, 'service_unavailable', '30']));
  const audited = await auditEvents(gw, 'otp.send_failed');
  t.same(audited.map((e) => e.details?.purpose).sort(), ['password_change', 'password_reset', 'payment'], 'each failed send is audited');
  t.ok(audited.every((e) => e.outcome === 'failure'));

  gw.ctx.sms = working;
  clock.advance(2 * 60_000);
  const { verificationToken } = await verifyPhone(gw, c.phone, 'password_reset');
  t.ok(verificationToken, 'a new verification gets its code');
  const change = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: c.auth, payload: { currentPassword: c.password, newPassword: 'Fresh-Snow-2026' } });
  t.equal(change.statusCode, 202, 'a new password change gets its code');
  const paid = await create(gw, c, paymentBody(entered(CARDS.frictionless)));
  t.equal(paid.statusCode, 201);
  t.equal((await confirm(gw, c, paid.json().id, await lastSmsCode(gw, c.phone))).json().status, 'succeeded', 'a new payment is confirmed with its code');
});
