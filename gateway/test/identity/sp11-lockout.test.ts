import t from 'tap';
import { MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, randomKzPhone, registerClient } from '../../../test/support/clients.js';
import { PENDING_MS, reserveAttempt } from '../../src/identity/login.repository.js';

const env = { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' };

function login(gw: TestGateway, phone: string, password: string) {
  return gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password } });
}

t.test('SP-11: three wrong passwords lock the login for 15 minutes; a right one inside the lock is refused', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  const first = await login(gw, c.phone, 'wrong-pass-1');
  t.equal(first.statusCode, 401);
  t.equal(first.json().code, 'invalid_credentials');
  t.equal((await login(gw, c.phone, 'wrong-pass-2')).json().code, 'invalid_credentials');
  const third = await login(gw, c.phone, 'wrong-pass-3');
  t.equal(third.statusCode, 423, 'the failure that fills slot 3 locks');
  t.equal(third.json().code, 'login_locked');
  t.equal(third.headers['retry-after'], '900');

  gw.clock.advance(5 * MINUTE);
  const right = await login(gw, c.phone, c.password);
  t.equal(right.statusCode, 423, 'the right password inside the lock is still refused');
  t.equal(right.headers['retry-after'], '600');
  t.equal((await login(gw, c.phone, 'wrong-again')).statusCode, 423, 'wrong gets the same answer');
  t.equal((await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure').length, 3, 'only 3 passwords were evaluated');

  gw.clock.advance(10 * MINUTE - 1000);
  t.equal((await login(gw, c.phone, c.password)).statusCode, 423, 'one second before expiry: still locked');
  gw.clock.advance(1000);
  const after = await login(gw, c.phone, c.password);
  t.equal(after.statusCode, 201, 'the lock expires after 15 minutes');
});

t.test('SP-11: the counter resets on success (only consecutive failures lock)', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  await login(gw, c.phone, 'wrong-pass-1');
  await login(gw, c.phone, 'wrong-pass-2');
  t.equal((await login(gw, c.phone, c.password)).statusCode, 201);
  t.equal((await login(gw, c.phone, 'wrong-pass-3')).statusCode, 401);
  t.equal((await login(gw, c.phone, 'wrong-pass-4')).statusCode, 401, 'two failures after a success do not lock');
  t.equal((await login(gw, c.phone, 'wrong-pass-5')).statusCode, 423);
});

t.test('SP-11: 50 concurrent wrong passwords evaluate at most 3 and lock the login', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => login(gw, c.phone, `wrong-guess-${i}`)));
  const statuses = results.map((r) => r.statusCode);
  t.equal(statuses.length, 50);
  t.ok(statuses.every((s) => s === 401 || s === 423 || s === 429), `only 401/423/429: ${[...new Set(statuses)]}`);
  const evaluated = (await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure');
  t.equal(evaluated.length, 3, 'exactly 3 passwords evaluated');
  t.ok(statuses.filter((s) => s === 401).length <= 2);
  for (const r of results.filter((r) => r.statusCode === 429)) t.ok(Number(r.headers['retry-after']) >= 1, '429 carries Retry-After');
  const right = await login(gw, c.phone, c.password);
  t.equal(right.statusCode, 423, 'and the login is now locked');
  const row = await gw.db.selectFrom('gateway.login_attempts').selectAll().where('phone', '=', c.phone).executeTakeFirstOrThrow();
  t.equal(row.failures, 3);
  t.equal(row.pending, 0, 'no reservation leaked');
});

t.test('SP-11: two gateway instances over one database: 20 wrong passwords racing across both evaluate exactly 3 and lock', async (t) => {
  const one = await buildTestGateway(t, { env });
  const two = await buildTestGateway(t, { instanceOf: one });
  const c = await registerClient(one);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login(i % 2 ? two : one, c.phone, `wrong-guess-${i}`)));
  const statuses = results.map((r) => r.statusCode);
  t.equal(statuses.length, 20);
  t.ok(statuses.every((s) => s === 401 || s === 423 || s === 429), `only 401/423/429: ${[...new Set(statuses)]}`);
  const attempts = (await auditEvents(one, 'session.login')).filter((e) => e.targets.phone === c.phone);
  const evaluated = attempts.filter((e) => e.outcome === 'failure');
  t.same(evaluated.map((e) => e.details?.locked).sort(), [false, false, true], 'exactly 3 passwords evaluated; the third locked');
  t.equal(statuses.filter((s) => s === 401).length, 2, 'the two evaluated before the lock answer 401');
  const refused = attempts.filter((e) => e.outcome === 'refused');
  t.equal(refused.length, 17, 'every other attempt was refused unevaluated');
  t.equal(statuses.filter((s) => s === 429).length, refused.filter((e) => e.details?.reason === 'in_flight').length, '429: refused while 3 were in flight');
  t.equal(statuses.filter((s) => s === 423).length, 1 + refused.filter((e) => e.details?.reason === 'login_locked').length, '423: the locking failure and those refused after it');
  for (const gw of [one, two]) {
    const right = await login(gw, c.phone, c.password);
    t.equal(right.statusCode, 423, 'the right password on either instance is refused during the lock');
    t.equal(right.json().code, 'login_locked');
  }
  const row = await two.db.selectFrom('gateway.login_attempts').selectAll().where('phone', '=', c.phone).executeTakeFirstOrThrow();
  t.same([row.failures, row.pending], [3, 0], 'no reservation leaked');
});

t.test('SP-11: a reservation left by a crashed attempt holds its slot for PENDING_MS only; failures already counted stay', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  t.equal((await login(gw, c.phone, 'wrong-pass-1')).statusCode, 401);
  t.equal((await login(gw, c.phone, 'wrong-pass-2')).statusCode, 401);
  // A gateway reserved the third slot as login() does, then died before recording any outcome.
  t.ok(await reserveAttempt(gw.db, c.phone, gw.clock.now()), 'the crashed attempt reserved the last slot');
  const busy = await login(gw, c.phone, c.password);
  t.equal(busy.statusCode, 429, 'the next login is refused as in flight, even with the right password');
  t.equal(busy.json().code, 'rate_limited');
  t.equal(busy.headers['retry-after'], '1');
  gw.clock.advance(PENDING_MS - 1000);
  t.equal((await login(gw, c.phone, c.password)).statusCode, 429, 'one second before PENDING_MS: still in flight');
  gw.clock.advance(1000);
  const third = await login(gw, c.phone, 'wrong-pass-3');
  t.equal(third.statusCode, 423, 'at PENDING_MS the slot is free; the two earlier failures still count, so the third locks');
  t.equal(third.headers['retry-after'], '900');
  const attempts = (await auditEvents(gw, 'session.login')).filter((e) => e.targets.phone === c.phone && e.outcome !== 'success');
  // Events of one clock millisecond have no order among them: compare as a multiset.
  t.same(attempts.map((e) => `${e.outcome} ${String(e.details?.reason)}`).sort(), [
    'failure invalid_credentials', 'failure invalid_credentials', 'failure invalid_credentials', 'refused in_flight', 'refused in_flight',
  ], 'the refused attempts evaluated no password');
  const row = await gw.db.selectFrom('gateway.login_attempts').selectAll().where('phone', '=', c.phone).executeTakeFirstOrThrow();
  t.same([row.failures, row.pending], [3, 0], 'the crashed reservation is gone, the failures are all there');

  // Three crashed attempts and no failure: after PENDING_MS the right password logs in.
  const d = await registerClient(gw);
  for (let i = 0; i < 3; i++) t.ok(await reserveAttempt(gw.db, d.phone, gw.clock.now()));
  t.equal((await login(gw, d.phone, d.password)).statusCode, 429, 'three slots held by dead attempts');
  gw.clock.advance(PENDING_MS);
  t.equal((await login(gw, d.phone, d.password)).statusCode, 201, 'recovered: the right password logs in');
  const after = await gw.db.selectFrom('gateway.login_attempts').selectAll().where('phone', '=', d.phone).executeTakeFirstOrThrow();
  t.same([after.failures, after.pending], [0, 0]);
});

t.test('SP-11: an unknown phone gets exactly the same answers as a known one (no enumeration)', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const known = await registerClient(gw);
  const unknown = randomKzPhone();
  const answers = async (phone: string) => {
    const out: Array<[number, string, string | undefined]> = [];
    for (let i = 0; i < 4; i++) {
      const r = await login(gw, phone, `wrong-pass-${i}`);
      out.push([r.statusCode, r.json().code, r.headers['retry-after'] as string | undefined]);
    }
    return out;
  };
  const a = await answers(known.phone);
  const b = await answers(unknown);
  t.same(b, a, 'same statuses, codes and Retry-After');
  t.same(a.map((x) => x[1]), ['invalid_credentials', 'invalid_credentials', 'login_locked', 'login_locked']);
  const failures = (await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure');
  t.equal(failures.filter((e) => e.targets.phone === unknown).length, 3, 'unknown phone: the password is hashed too (dummy hash)');
  t.same(Object.keys((await login(gw, unknown, 'x-password')).json()).sort(), Object.keys((await login(gw, known.phone, 'x-password')).json()).sort());
});

t.test('SP-11: the lockout also guards the current password of a password change', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  const auth = { authorization: `Bearer ${c.token}` };
  const codes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: auth, payload: { currentPassword: `wrong-${i}-x`, newPassword: 'Brand-New-Pass-9' } });
    codes.push(r.json().code);
  }
  t.same(codes, ['password_incorrect', 'password_incorrect', 'login_locked']);
  t.equal((await login(gw, c.phone, c.password)).statusCode, 423, 'and the login is locked');
});

t.test('SP-11: a per-IP rate limit sits on top of the per-phone lockout', async (t) => {
  const gw = await buildTestGateway(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '5' } });
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await login(gw, randomKzPhone(), 'some-pass-1')).statusCode);
  t.same(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  const limited = await login(gw, randomKzPhone(), 'some-pass-1');
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().code, 'rate_limited');
  t.ok(limited.headers['retry-after'], 'Retry-After present');
});

t.test('SP-11: malformed JSON and wrong types get a clear 400 and touch no counter', async (t) => {
  const gw = await buildTestGateway(t, { env });
  const c = await registerClient(gw);
  const bad = [
    { payload: '{"phone": "+77011234567", "password": ', type: 'application/json' },
    { payload: JSON.stringify({ phone: c.phone, password: 1234567 }), type: 'application/json' },
    { payload: JSON.stringify({ phone: [c.phone], password: 'x' }), type: 'application/json' },
    { payload: JSON.stringify({ phone: c.phone }), type: 'application/json' },
    { payload: JSON.stringify({ phone: c.phone, password: 'abc-defg', extra: true }), type: 'application/json' },
  ];
  for (const b of bad) {
    const r = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: b.payload, headers: { 'content-type': b.type } });
    t.equal(r.statusCode, 400, b.payload);
    t.equal(r.json().code, 'validation_failed');
    t.notMatch(r.body, /abc-defg/, 'the body is not echoed');
  }
  const row = await gw.db.selectFrom('gateway.login_attempts').selectAll().where('phone', '=', c.phone).executeTakeFirstOrThrow();
  t.same([row.failures, row.pending], [0, 0], 'no attempt counted');
  t.equal((await auditEvents(gw, 'session.login')).filter((e) => e.outcome !== 'success' && e.details?.reason !== 'validation_failed').length, 0, 'no password evaluated (SP-21: only the refusals of the requests are on record)');
});
