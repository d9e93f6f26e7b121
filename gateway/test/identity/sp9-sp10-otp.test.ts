import t from 'tap';
import { MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, freshCodes, lastSmsCode, randomKzPhone, sentSms } from '../../../test/support/clients.js';
import { issueOtp, verifyOtp } from '../../src/identity/otp.service.js';

async function startVerification(gw: TestGateway, phone = randomKzPhone()) {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } });
  if (res.statusCode !== 202) throw new Error(res.body);
  return { id: res.json().verificationId as string, phone, code: await lastSmsCode(gw, phone) };
}

function confirm(gw: TestGateway, id: string, code: string) {
  return gw.app.inject({ method: 'POST', url: `/v1/verifications/${id}/confirm`, payload: { code } });
}

function wrong(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

t.test('SP-9: a code is stored only as a keyed hash and says what it is for', async (t) => {
  const gw = await buildTestGateway(t);
  const v = await startVerification(gw);
  const [sms] = await sentSms(gw);
  t.match(sms!.text, /телефонды растау коды/, 'the SMS names its purpose');
  t.equal(sms!.text.match(/\b\d{6}\b/g)?.length, 1, 'exactly one 6-digit number in the text');
  const row = await gw.db.selectFrom('gateway.otps').selectAll().executeTakeFirstOrThrow();
  t.equal(row.code_hash.length, 32, 'HMAC-SHA256');
  t.equal(row.key_id, '1', 'key id stored beside it');
  t.notOk(row.code_hash.toString('hex').includes(Buffer.from(v.code).toString('hex')), 'no clear code');
  t.equal(row.expires_at.getTime() - row.created_at.getTime(), 15 * MINUTE, 'valid 15 minutes (SP-9)');
  t.notMatch(JSON.stringify(await auditEvents(gw)), new RegExp(v.code), 'the audit trail never holds the code');
});

t.test('SP-9: a code expires after 15 minutes (otp_expired), one second before it still works', async (t) => {
  const gw = await buildTestGateway(t);
  const a = await startVerification(gw);
  gw.clock.advance(15 * MINUTE);
  const late = await confirm(gw, a.id, a.code);
  t.equal(late.statusCode, 400);
  t.equal(late.json().code, 'otp_expired');
  gw.clock.advance(MINUTE); // past the cool-down
  const b = await startVerification(gw);
  gw.clock.advance(15 * MINUTE - 1000);
  t.equal((await confirm(gw, b.id, b.code)).statusCode, 200);
});

t.test('SP-10: a code is single use', async (t) => {
  const gw = await buildTestGateway(t);
  const v = await startVerification(gw);
  t.equal((await confirm(gw, v.id, v.code)).statusCode, 200);
  const again = await confirm(gw, v.id, v.code);
  t.equal(again.statusCode, 400);
  t.equal(again.json().code, 'otp_invalid', 'reuse refused');
});

t.test('SP-10: each request gets a fresh code; a code issued for one request never confirms another', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_MAX_PER_PHONE_HOUR: '100', OTP_MAX_PER_IP_HOUR: '100', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const phone = randomKzPhone();
  const started = [];
  for (let i = 0; i < 12; i++) started.push(await startVerification(gw, phone));
  const codes = started.map((v) => v.code);
  t.ok(freshCodes(codes), `12 requests for one phone: ${new Set(codes).size} distinct codes`);
  const a = started[0]!;
  // freshCodes guarantees a later code unlike a's; with none (a constant code) the last one is crossed and must fail.
  const b = started.find((v) => v.code !== a.code) ?? started.at(-1)!;
  const crossed = await confirm(gw, b.id, a.code);
  t.equal(crossed.json().code, 'otp_invalid', "a's code does not confirm b");
  t.equal((await confirm(gw, a.id, a.code)).statusCode, 200, 'a still confirms with its own code');
  t.equal((await confirm(gw, b.id, b.code)).statusCode, 200);
});

t.test('SP-10: codes drawn through issueOtp for one phone and one purpose are fresh each time', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_MAX_PER_CLIENT_PHONE_HOUR: '100' } });
  const phone = randomKzPhone();
  const codes = [];
  for (let i = 0; i < 50; i++) {
    const issued = await issueOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: `pay-${i}`, clientId: 'client-1', phone, message: (c) => `code ${c}` });
    await gw.ctx.sms.send(issued.sms); // the caller sends after its transaction commits
    codes.push(await lastSmsCode(gw, phone));
  }
  t.equal(codes.length, 50);
  t.ok(freshCodes(codes), `50 codes: ${new Set(codes).size} distinct`);
});

t.test('SP-10: three wrong entries kill the code; the 4th (even right) is otp_attempts_exceeded', async (t) => {
  const gw = await buildTestGateway(t);
  const v = await startVerification(gw);
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await confirm(gw, v.id, wrong(v.code))).json().code);
  t.same(codes, ['otp_invalid', 'otp_invalid', 'otp_attempts_exceeded']);
  const fourth = await confirm(gw, v.id, v.code);
  t.equal(fourth.statusCode, 400);
  t.equal(fourth.json().code, 'otp_attempts_exceeded', 'the right code after 3 wrong ones is refused');
  t.equal((await auditEvents(gw, 'otp.failed')).length, 4, 'each failed entry is audited');
});

t.test('SP-10: concurrent guesses cannot exceed 3 attempts; concurrent right answers win once', async (t) => {
  const gw = await buildTestGateway(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const v = await startVerification(gw);
  const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => confirm(gw, v.id, String((Number(v.code) + 1 + i) % 1_000_000).padStart(6, '0'))));
  t.same(guesses.map((g) => g.statusCode), Array(20).fill(400), 'every guess refused');
  const row = await gw.db.selectFrom('gateway.otps').select('attempts').executeTakeFirstOrThrow();
  t.equal(row.attempts, 3, 'attempts counted before comparing, capped at 3');

  const w = await startVerification(gw);
  const rights = await Promise.all(Array.from({ length: 10 }, () => confirm(gw, w.id, w.code)));
  t.equal(rights.filter((r) => r.statusCode === 200).length, 1, 'exactly one right answer wins');
});

t.test('SP-12: payment codes via issueOtp/verifyOtp are bound to purpose and subject', async (t) => {
  const gw = await buildTestGateway(t);
  const phone = randomKzPhone();
  const clientId = 'client-1';
  const issued = await issueOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-1', clientId, phone, message: (c) => `Pay 1,500.00 KZT to Kcell with card *0007: code ${c}` });
  t.equal(issued.expiresAt.getTime() - gw.clock.now().getTime(), 15 * MINUTE);
  await gw.ctx.sms.send(issued.sms); // the caller sends after its transaction commits
  const code = await lastSmsCode(gw, phone);
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-2', clientId, code }), { ok: false, reason: 'otp_invalid' }, 'other subject');
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'password_change', subjectId: 'pay-1', clientId, code }), { ok: false, reason: 'otp_invalid' }, 'other purpose');
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-1', clientId, code: 'abc' }), { ok: false, reason: 'otp_invalid' }, 'garbage counts as a wrong entry');
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-1', clientId, code }), { ok: true });
  t.same(await verifyOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-1', clientId, code }), { ok: false, reason: 'otp_invalid' }, 'used');
  // A client's own payments are not slowed by the visitor cool-down.
  await issueOtp(gw.db, gw.ctx, { purpose: 'payment', subjectId: 'pay-3', clientId, phone, message: (c) => `code ${c}` });
  t.pass('a second payment code right away is allowed');
});

t.test('SMS pumping: cool-down per phone, hourly caps per phone and per IP, with Retry-After', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_MAX_PER_IP_HOUR: '4', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const phone = randomKzPhone();
  await startVerification(gw, phone);
  const soon = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } });
  t.equal(soon.statusCode, 429, 'cool-down');
  t.equal(soon.json().code, 'rate_limited');
  t.equal(soon.headers['retry-after'], '60');
  gw.clock.advance(30_000);
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } })).headers['retry-after'], '30');
  gw.clock.advance(30_000);
  await startVerification(gw, phone);
  t.equal((await auditEvents(gw, 'otp.sent')).filter((e) => e.outcome === 'refused').length, 2, 'refusals are audited');

  await startVerification(gw);
  await startVerification(gw);
  const capped = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: randomKzPhone() } });
  t.equal(capped.statusCode, 429, 'the 5th code from one IP in an hour is refused');
  t.ok(Number(capped.headers['retry-after']) > 0);
  const other = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: randomKzPhone() }, remoteAddress: '10.1.2.3' });
  t.equal(other.statusCode, 202, 'another IP is not affected');
  gw.clock.advance(60 * MINUTE);
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: randomKzPhone() } })).statusCode, 202, 'next hour: allowed again');
});

t.test('SMS pumping: at most OTP_MAX_PER_PHONE_HOUR codes to one phone, however many race', async (t) => {
  const gw = await buildTestGateway(t, { env: { OTP_RESEND_COOLDOWN_SECONDS: '0', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000', OTP_MAX_PER_IP_HOUR: '1000' } });
  const phone = randomKzPhone();
  const results = await Promise.all(Array.from({ length: 20 }, () => gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } })));
  t.equal(results.filter((r) => r.statusCode === 202).length, 5, 'exactly 5 sent');
  t.equal((await sentSms(gw)).length, 5);
});
