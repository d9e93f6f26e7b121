// SP-5 / SP-9 / SP-12: each code allows 3 tries, and a client's wrong codes across all its payments
// and password changes are capped per day, so starting new requests forever buys no more guesses.
// At the cap a code is refused without being compared, and no new payment or password change starts.
import t from 'tap';
import { issueOtp, verifyOtp } from '../../src/identity/otp.service.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, lastSmsCode, loginClient, randomKzPhone } from '../../../test/support/clients.js';
import { CARDS, confirm, create, entered, newClient, paymentBody, paymentsWorld, relogin } from '../payments/world.js';

const DAY = 24 * 3_600_000;

function other(code: string, n = 0): string {
  return String((Number(code) + 1 + n) % 1_000_000).padStart(6, '0');
}

async function attempts(gw: TestGateway, subjectId: string): Promise<number> {
  return (await gw.db.selectFrom('gateway.otps').select('attempts').where('subject_id', '=', subjectId).executeTakeFirstOrThrow()).attempts;
}

t.test('SP-12: wrong codes across payments and password changes stop at the daily cap; then nothing is compared or started', async (t) => {
  const { gw, clock } = await paymentsWorld(t, { env: { OTP_MAX_WRONG_PER_CLIENT_DAY: '4' } });
  let c = await newClient(gw);
  const auth = { authorization: `Bearer ${c.token}` };
  const p = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  const pCode = await lastSmsCode(gw, c.phone);
  const q = (await create(gw, c, paymentBody(entered(CARDS.frictionless), { amount: { value: 200_000, currency: 'KZT' } }))).json();
  const qCode = await lastSmsCode(gw, c.phone);
  const change = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: auth, payload: { currentPassword: c.password, newPassword: 'Fresh-Snow-2026' } });
  t.equal(change.statusCode, 202);
  const changeId = change.json().passwordChangeId as string;
  const changeCode = await lastSmsCode(gw, c.phone);

  for (let i = 0; i < 3; i++) t.equal((await confirm(gw, c, p.id, other(pCode, i))).statusCode, 400, `wrong payment code ${i + 1}`);
  const wrongChange = await gw.app.inject({ method: 'POST', url: `/v1/password-changes/${changeId}/confirm`, headers: auth, payload: { code: other(changeCode) } });
  t.equal(wrongChange.json().code, 'otp_invalid', 'the 4th wrong code of the day is still compared');

  const right = await confirm(gw, c, q.id, qCode);
  t.equal(right.statusCode, 400);
  t.equal(right.json().code, 'otp_attempts_exceeded', 'at the cap even the right code is refused');
  t.equal(await attempts(gw, q.id), 0, 'without being compared');
  t.equal((await gw.app.inject({ method: 'GET', url: `/v1/payments/${q.id}`, headers: c.auth })).json().status, 'requires_confirmation');
  t.ok((await auditEvents(gw, 'payment.confirm')).some((e) => e.targets.paymentId === q.id && e.details?.reason === 'otp_attempts_exceeded'), 'audited');

  const rightChange = await gw.app.inject({ method: 'POST', url: `/v1/password-changes/${changeId}/confirm`, headers: auth, payload: { code: changeCode } });
  t.equal(rightChange.statusCode, 400);
  t.equal(rightChange.json().code, 'otp_attempts_exceeded');
  t.ok(Number(rightChange.headers['retry-after']) > 0, 'with Retry-After');
  t.equal(await attempts(gw, changeId), 1, 'not compared');
  t.equal(await loginClient(gw, c.phone, c.password).then(() => 'old password'), 'old password', 'the password did not change');
  t.ok((await auditEvents(gw, 'otp.failed')).some((e) => e.outcome === 'refused' && e.details?.reason === 'daily_wrong_codes'), 'audited');

  const sms = (await gw.db.selectFrom('gateway.otps').select('id').execute()).length;
  const newPayment = await create(gw, c, paymentBody(entered(CARDS.frictionless)));
  t.equal(newPayment.statusCode, 429, 'no new payment');
  t.equal(newPayment.json().code, 'rate_limited');
  t.ok(Number(newPayment.headers['retry-after']) > 0);
  const newChange = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: auth, payload: { currentPassword: c.password, newPassword: 'Fresh-Snow-2026' } });
  t.equal(newChange.statusCode, 429, 'no new password change');
  t.equal((await gw.db.selectFrom('gateway.otps').select('id').execute()).length, sms, 'no code was issued');

  const stranger = await newClient(gw);
  t.equal((await create(gw, stranger, paymentBody(entered(CARDS.frictionless)))).statusCode, 201, 'another client is not affected');

  clock.advance(DAY);
  c = await relogin(gw, c);
  const next = await create(gw, c, paymentBody(entered(CARDS.frictionless)));
  t.equal(next.statusCode, 201, 'the next day the client pays again');
  t.equal((await confirm(gw, c, next.json().id, await lastSmsCode(gw, c.phone))).json().status, 'succeeded');
});

t.test('SP-12: a right code gives its slot back; only wrong codes count', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_MAX_WRONG_PER_CLIENT_DAY: '2' } });
  const clientId = 'client-right-codes';
  const phone = randomKzPhone();
  const issue = async (subjectId: string) => {
    const otp = await issueOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId, clientId, phone, message: (c) => `code ${c}` });
    return /\d{6}/.exec(otp.sms.text)![0];
  };
  const a = await issue('pay-a');
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-a', clientId, code: other(a) }), { ok: false, reason: 'otp_invalid' });
  for (const id of ['pay-b', 'pay-c', 'pay-d']) {
    const code = await issue(id);
    t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: id, clientId, code }), { ok: true }, `right code ${id}`);
  }
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-a', clientId, code: other(a, 1) }), { ok: false, reason: 'otp_invalid' }, 'the 2nd wrong code');
  const e = await issue('pay-e').then(() => 'issued', (err: { code?: string }) => err.code);
  t.equal(e, 'rate_limited', 'the cap is reached: no new code');
  const refused = await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-a', clientId, code: a });
  t.match(refused, { ok: false, reason: 'otp_attempts_exceeded' });
  t.ok(!refused.ok && refused.retryAfterSeconds !== undefined && refused.retryAfterSeconds > 0, 'refused by the daily cap, with the wait');
});

t.test('SP-12: racing wrong codes never pass the per-client cap', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_MAX_WRONG_PER_CLIENT_DAY: '5', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000' } });
  const clientId = 'client-racing';
  const phone = randomKzPhone();
  const subjects = Array.from({ length: 10 }, (_, i) => `race-${i}`);
  const codes = new Map<string, string>();
  for (const subjectId of subjects) {
    const otp = await issueOtp(gw.db, gw.ctx, { purpose: subjectId.endsWith('1') ? 'password_change' : 'payment', subjectId, clientId, phone, message: (c) => `code ${c}` });
    codes.set(subjectId, /\d{6}/.exec(otp.sms.text)![0]);
  }
  const guesses = subjects.flatMap((subjectId) => [0, 1, 2].map((n) => verifyOtp(gw.db, gw.ctx, {
    purpose: subjectId.endsWith('1') ? 'password_change' : 'payment', subjectId, clientId, code: other(codes.get(subjectId)!, n),
  })));
  const results = await Promise.all(guesses);
  t.equal(results.length, 30);
  t.equal(results.filter((r) => !r.ok && r.retryAfterSeconds === undefined).length, 5, 'exactly 5 guesses were compared');
  t.equal(results.filter((r) => !r.ok && r.retryAfterSeconds !== undefined).length, 25, 'the rest were refused unevaluated');
  const rows = await gw.db.selectFrom('gateway.otps').select('attempts').execute();
  t.equal(rows.reduce((sum, r) => sum + r.attempts, 0), 5, 'the codes\' own counters agree');
});
