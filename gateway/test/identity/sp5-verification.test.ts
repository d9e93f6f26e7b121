import t from 'tap';
import { MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, lastSmsCode, randomKzPhone, registerClient, sentSms, verifyPhone } from '../../../test/support/clients.js';

function register(gw: TestGateway, body: Record<string, unknown>) {
  return gw.app.inject({ method: 'POST', url: '/v1/registrations', payload: body });
}

const good = { name: 'Dana Nurlanovna', birthDate: '1992-03-08', password: 'Tulip-Garden-7' };

t.test('SP-5: verification answers identically for registered and unregistered phones (no enumeration)', async (t) => {
  const gw = await buildTestGateway(t);
  const known = await registerClient(gw);
  gw.clock.advance(2 * MINUTE); // past the cool-down of the registration's own code
  const unknown = randomKzPhone();
  const a = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: known.phone } });
  const b = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: unknown } });
  t.equal(a.statusCode, 202);
  t.equal(b.statusCode, 202);
  t.same(Object.keys(a.json()).sort(), ['expiresAt', 'verificationId']);
  t.same(Object.keys(b.json()).sort(), ['expiresAt', 'verificationId']);
  t.equal(a.json().expiresAt, b.json().expiresAt);
  const strip = (h: Record<string, unknown>) => Object.keys(h).filter((k) => !/^(date|content-length|x-ratelimit-.*)$/.test(k)).sort();
  t.same(strip(a.headers), strip(b.headers), 'same headers');
  const texts = (await sentSms(gw)).slice(-2).map((m) => m.text.replace(/\d{6}/, 'CODE'));
  t.equal(texts[0], texts[1], 'same SMS text');
  // After proving the phone, the owner learns whether it is registered.
  const code = await lastSmsCode(gw, known.phone);
  const confirmed = await gw.app.inject({ method: 'POST', url: `/v1/verifications/${a.json().verificationId}/confirm`, payload: { code } });
  t.equal(confirmed.json().registered, true);
});

t.test('SP-5: verification then registration creates a client who can log in', async (t) => {
  const gw = await buildTestGateway(t);
  const phone = randomKzPhone();
  const { verificationToken, registered } = await verifyPhone(gw, phone);
  t.equal(registered, false);
  t.match(verificationToken, /^[A-Za-z0-9_-]{43}$/, '256-bit token');
  const res = await register(gw, { verificationToken, ...good });
  t.equal(res.statusCode, 201);
  const clientId = res.json().clientId;
  const row = await gw.db.selectFrom('gateway.clients').selectAll().where('id', '=', clientId).executeTakeFirstOrThrow();
  t.equal(row.phone, phone, 'the verified phone is the login (SP-6)');
  t.match(row.password_hash, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/, 'argon2id with its parameters stored');
  const login = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password: good.password } });
  t.equal(login.statusCode, 201);
  const events = await auditEvents(gw);
  t.same(events.map((e) => e.action).sort(), ['client.registered', 'otp.sent', 'session.login', 'verification.confirmed']);
  const reg = events.find((e) => e.action === 'client.registered')!;
  t.same(reg.actor, { type: 'visitor' });
  t.equal(reg.targets.clientId, clientId);
  t.ok(reg.ip && reg.requestId, 'ip and request id recorded');
  const dump = JSON.stringify(events);
  t.notMatch(dump, new RegExp(good.password), 'no password in the audit trail');
  t.notMatch(dump, new RegExp(verificationToken), 'no token in the audit trail');
});

t.test('SP-5: a verification token is single use and lives 15 minutes', async (t) => {
  const gw = await buildTestGateway(t);
  const { verificationToken } = await verifyPhone(gw, randomKzPhone());
  t.equal((await register(gw, { verificationToken, ...good })).statusCode, 201);
  const again = await register(gw, { verificationToken, ...good });
  t.equal(again.statusCode, 400);
  t.equal(again.json().code, 'verification_invalid');

  const second = await verifyPhone(gw, randomKzPhone());
  gw.clock.advance(15 * MINUTE);
  const late = await register(gw, { verificationToken: second.verificationToken, ...good });
  t.equal(late.json().code, 'verification_invalid', 'expired');
  t.equal((await register(gw, { verificationToken: 'A'.repeat(43), ...good })).json().code, 'verification_invalid', 'made up');
});

t.test('SP-5: birth date must be a real past date of someone at least 18; refusals spend nothing', async (t) => {
  const gw = await buildTestGateway(t); // clock: 2026-11-24
  const { verificationToken } = await verifyPhone(gw, randomKzPhone());
  for (const birthDate of ['2001-02-29', '1990-13-01', '1990-00-10', '2027-01-01', '2026-11-24', '2008-11-25', '1890-01-01']) {
    const res = await register(gw, { verificationToken, ...good, birthDate });
    t.equal(res.statusCode, 400, birthDate);
    t.equal(res.json().code, 'birth_date_invalid', birthDate);
  }
  t.equal((await register(gw, { verificationToken, ...good, birthDate: '24-11-1990' })).json().code, 'validation_failed');
  t.equal((await register(gw, { verificationToken, ...good, birthDate: '2008-11-24' })).statusCode, 201, 'exactly 18 today: accepted, same token still valid');
});

t.test('SP-5: malformed JSON, wrong types and extra fields get clear 400s and change nothing', async (t) => {
  const gw = await buildTestGateway(t);
  const { verificationToken } = await verifyPhone(gw, randomKzPhone());
  const before = (await auditEvents(gw)).length;
  const cases: Array<[string, string]> = [
    ['/v1/registrations', '{"verificationToken": '],
    ['/v1/registrations', JSON.stringify({ verificationToken, ...good, birthDate: 19920308 })],
    ['/v1/registrations', JSON.stringify({ verificationToken, ...good, password: 12345678 })],
    ['/v1/registrations', JSON.stringify({ verificationToken, ...good, admin: true })],
    ['/v1/registrations', JSON.stringify({ verificationToken, name: good.name })],
    ['/v1/registrations', JSON.stringify([verificationToken])],
    ['/v1/verifications', JSON.stringify({ phone: 87011234567 })],
    ['/v1/verifications', JSON.stringify({ phone: '+77011234567', purpose: 'payment' })],
    ['/v1/verifications', 'phone=+77011234567'],
  ];
  for (const [url, payload] of cases) {
    const res = await gw.app.inject({ method: 'POST', url, payload, headers: { 'content-type': payload.startsWith('phone=') ? 'application/x-www-form-urlencoded' : 'application/json' } });
    t.ok(res.statusCode === 400 || res.statusCode === 415, `${payload} → ${res.statusCode}`);
    t.match(res.headers['content-type'], /problem\+json/);
    t.notMatch(res.body, /Tulip-Garden/, 'the password is never echoed');
  }
  const badId = await gw.app.inject({ method: 'POST', url: '/v1/verifications/not-a-uuid/confirm', payload: { code: '123456' } });
  t.equal(badId.json().code, 'validation_failed');
  const badCode = await gw.app.inject({ method: 'POST', url: `/v1/verifications/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}/confirm`, payload: { code: '12345a' } });
  t.equal(badCode.json().code, 'validation_failed');
  t.equal((await gw.db.selectFrom('gateway.clients').select('id').execute()).length, 0, 'no client created');
  const all = await auditEvents(gw);
  const refused = (e: (typeof all)[number]) => e.outcome === 'refused' && e.details?.reason === 'validation_failed';
  t.ok(all.length > before, 'SP-21: each refusal is on record');
  t.equal(all.filter((e) => !refused(e)).length, before, 'as a refusal, and nothing else');
  t.equal((await register(gw, { verificationToken, ...good })).statusCode, 201, 'the token is still unspent');
});

t.test('SP-5: a phone registers once', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  gw.clock.advance(2 * MINUTE);
  const { verificationToken, registered } = await verifyPhone(gw, c.phone);
  t.equal(registered, true);
  const res = await register(gw, { verificationToken, ...good });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'phone_registered');
});

t.test('SP-8: a forgotten password is reset through a fresh verification of the login phone', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  gw.clock.advance(2 * MINUTE);
  const registration = await verifyPhone(gw, c.phone);
  const wrongFlow = await gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: { verificationToken: registration.verificationToken, birthDate: '1990-05-17', newPassword: 'Fresh-Snow-2026' } });
  t.equal(wrongFlow.json().code, 'verification_invalid', 'a registration verification cannot reset a password');
  gw.clock.advance(2 * MINUTE);
  const { verificationToken } = await verifyPhone(gw, c.phone, 'password_reset');
  t.match((await sentSms(gw)).at(-1)!.text, /ҚҰПИЯСӨЗІН ҚАЛПЫНА КЕЛТІРУ/, 'the SMS says what the code is for');
  const asRegistration = await register(gw, { verificationToken, ...good });
  t.equal(asRegistration.json().code, 'verification_invalid', 'nor a reset verification register');
  const weak = await gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: { verificationToken, birthDate: '1990-05-17', newPassword: '12345678' } });
  t.equal(weak.json().code, 'password_digits_only');
  const res = await gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: { verificationToken, birthDate: '1990-05-17', newPassword: 'Fresh-Snow-2026' } });
  t.equal(res.statusCode, 204);
  const me = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } });
  t.equal(me.statusCode, 401, 'existing sessions end');
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: c.password } })).statusCode, 401, 'old password refused');
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: 'Fresh-Snow-2026' } })).statusCode, 201);
  const reuse = await gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: { verificationToken, birthDate: '1990-05-17', newPassword: 'Other-Snow-2027' } });
  t.equal(reuse.json().code, 'verification_invalid', 'the token was spent');
  t.equal((await auditEvents(gw, 'password.reset')).filter((e) => e.outcome === 'success').length, 1);
  const stranger = await verifyPhone(gw, randomKzPhone(), 'password_reset');
  const none = await gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: { verificationToken: stranger.verificationToken, birthDate: '1990-05-17', newPassword: 'Fresh-Snow-2026' } });
  t.equal(none.statusCode, 404, 'an unregistered phone has nothing to reset');
});
