import t from 'tap';
import { MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, freshCodes, lastSmsCode, loginClient, registerClient, sentSms } from '../../../test/support/clients.js';

function start(gw: TestGateway, token: string, body: Record<string, unknown>) {
  return gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: { authorization: `Bearer ${token}` }, payload: body });
}
function confirm(gw: TestGateway, token: string, id: string, code: string) {
  return gw.app.inject({ method: 'POST', url: `/v1/password-changes/${id}/confirm`, headers: { authorization: `Bearer ${token}` }, payload: { code } });
}

t.test('SP-8: a password change is final only with the code sent to the login phone', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const other = await loginClient(gw, c.phone, c.password);
  const res = await start(gw, c.token, { currentPassword: c.password, newPassword: 'Mountain-Lake-5' });
  t.equal(res.statusCode, 202);
  const { passwordChangeId } = res.json();
  const sms = (await sentSms(gw)).at(-1)!;
  t.equal(sms.to, c.phone, 'sent to the login phone');
  t.match(sms.text, /ҚҰПИЯСӨЗДІ ӨЗГЕРТУ/, 'the SMS says what the code is for');
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: 'Mountain-Lake-5' } })).statusCode, 401, 'not yet changed');
  const done = await confirm(gw, c.token, passwordChangeId, await lastSmsCode(gw, c.phone));
  t.equal(done.statusCode, 204);
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } })).statusCode, 200, 'this session continues');
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${other}` } })).statusCode, 401, 'other sessions are revoked');
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: 'Mountain-Lake-5' } })).statusCode, 201, 'new password works');
  const changed = await auditEvents(gw, 'password.changed');
  t.equal(changed.length, 1);
  t.same(changed[0]!.actor, { type: 'client', id: c.clientId });
  t.notMatch(JSON.stringify(await auditEvents(gw)), /Mountain-Lake-5/);
});

t.test('SP-10: each request gets a new code; an older request\'s code is refused', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const requests = [];
  for (let i = 0; i < 8; i++) {
    const id = (await start(gw, c.token, { currentPassword: c.password, newPassword: `Choice-Number-${i}` })).json().passwordChangeId as string;
    requests.push({ id, code: await lastSmsCode(gw, c.phone) });
  }
  t.equal(new Set(requests.map((r) => r.id)).size, 8, 'each request has its own id');
  const codes = requests.map((r) => r.code);
  t.ok(freshCodes(codes), `8 requests: ${new Set(codes).size} distinct codes`);
  const newest = requests.at(-1)!;
  // freshCodes guarantees an older code unlike the newest; with none (a constant code) the first is crossed and must fail.
  const older = requests.find((r) => r.code !== newest.code) ?? requests[0]!;
  const crossed = await confirm(gw, c.token, newest.id, older.code);
  t.equal(crossed.json().code, 'otp_invalid', 'the older code does not confirm the new request');
  t.equal((await confirm(gw, c.token, newest.id, newest.code)).statusCode, 204);
  t.equal((await confirm(gw, c.token, newest.id, newest.code)).json().code, 'otp_invalid', 'reuse refused');
});

t.test('SP-9/SP-10: expired and exhausted codes for a password change', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const id = (await start(gw, c.token, { currentPassword: c.password, newPassword: 'Expired-Try-3' })).json().passwordChangeId;
  const code = await lastSmsCode(gw, c.phone);
  gw.clock.advance(10 * MINUTE);
  await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } }); // keep the session alive
  gw.clock.advance(5 * MINUTE);
  t.equal((await confirm(gw, c.token, id, code)).json().code, 'otp_expired');

  const id2 = (await start(gw, c.token, { currentPassword: c.password, newPassword: 'Exhaust-Try-4' })).json().passwordChangeId;
  const code2 = await lastSmsCode(gw, c.phone);
  const bad = String((Number(code2) + 1) % 1_000_000).padStart(6, '0');
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push((await confirm(gw, c.token, id2, i === 3 ? code2 : bad)).json().code);
  t.same(answers, ['otp_invalid', 'otp_invalid', 'otp_attempts_exceeded', 'otp_attempts_exceeded']);
});

t.test('password change: wrong current password, weak new password, someone else\'s request', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  t.equal((await start(gw, c.token, { currentPassword: 'not-my-pass', newPassword: 'Valid-New-77' })).json().code, 'password_incorrect');
  t.equal((await start(gw, c.token, { currentPassword: c.password, newPassword: '7777777' })).json().code, 'password_digits_only');
  t.equal((await start(gw, c.token, { currentPassword: c.password, newPassword: 'short' })).json().code, 'password_too_short');
  t.equal((await start(gw, c.token, { currentPassword: c.password, newPassword: 123 })).json().code, 'validation_failed');
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/password-changes', payload: { currentPassword: c.password, newPassword: 'Valid-New-77' } })).statusCode, 401, 'needs a session');
  const mine = (await start(gw, c.token, { currentPassword: c.password, newPassword: 'Valid-New-77' })).json().passwordChangeId;
  const code = await lastSmsCode(gw, c.phone);
  gw.clock.advance(2 * MINUTE);
  const eve = await registerClient(gw);
  const stolen = await confirm(gw, eve.token, mine, code);
  t.equal(stolen.statusCode, 404, "another client cannot confirm this client's request");
  t.equal((await confirm(gw, c.token, mine, code)).statusCode, 204);
});
