// SP-15.2: anonymous codes (verification, reset) and logged-in codes (payment, password change)
// draw from separate daily budgets, so a flood of verifications cannot stop payments, and the
// Lua script that charges them never lets racing requests overshoot either budget.
import t from 'tap';
import { loadIdentityConfig } from '../../src/identity/identity.config.js';
import { chargeSmsCaps } from '../../src/identity/otp.caps.js';
import { DomainError } from '../../src/errors.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { lastSmsCode, randomKzPhone, registerClient, sentSms } from '../../../test/support/clients.js';
import { testDataDir } from '../../../test/support/pki.js';
import { CARDS, confirm, create, entered, newClient, paymentBody, paymentsWorld } from '../payments/world.js';

const floodable = { VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000', OTP_MAX_PER_IP_HOUR: '100000', OTP_MAX_PER_PREFIX_HOUR: '100000' };

function passwordChange(gw: TestGateway, token: string, currentPassword: string) {
  return gw.app.inject({
    method: 'POST', url: '/v1/password-changes', headers: { authorization: `Bearer ${token}` }, payload: { currentPassword, newPassword: 'Fresh-Snow-2026' },
  });
}

t.test('SP-15.2: a flood of verifications uses up the visitor budget only; payment and password-change codes still go out', async (t) => {
  const { gw } = await paymentsWorld(t, { env: { ...floodable, OTP_DAILY_BUDGET: '10', OTP_DAILY_BUDGET_VISITOR: '4' } });
  const c = await newClient(gw); // its registration spent one visitor code
  const answers: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: randomKzPhone() } });
    answers.push(res.statusCode);
    if (res.statusCode === 429) {
      t.equal(res.json().code, 'rate_limited');
      t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
      break;
    }
  }
  t.same(answers, [202, 202, 202, 429], 'the visitor budget of 4 is spent');

  const sent = (await sentSms(gw)).length;
  const payment = await create(gw, c, paymentBody(entered(CARDS.frictionless)));
  t.equal(payment.statusCode, 201, 'a payment still starts');
  t.equal((await sentSms(gw)).length, sent + 1);
  const confirmed = await confirm(gw, c, payment.json().id, await lastSmsCode(gw, c.phone));
  t.equal(confirmed.json().status, 'succeeded', 'and its code confirms it');
  const change = await passwordChange(gw, c.token, c.password);
  t.equal(change.statusCode, 202, 'a password change still gets its code');
  t.equal((await sentSms(gw)).length, sent + 2);
});

t.test('SP-15.2: using up the client budget leaves verifications working', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...floodable, OTP_DAILY_BUDGET: '10', OTP_DAILY_BUDGET_CLIENT: '2' } });
  const c = await registerClient(gw);
  t.equal((await passwordChange(gw, c.token, c.password)).statusCode, 202);
  t.equal((await passwordChange(gw, c.token, c.password)).statusCode, 202);
  const third = await passwordChange(gw, c.token, c.password);
  t.equal(third.statusCode, 429, 'the client budget of 2 is spent');
  t.equal(third.json().code, 'rate_limited');
  for (let i = 0; i < 3; i++) {
    t.equal((await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: randomKzPhone() } })).statusCode, 202, `verification ${i + 1}`);
  }
});

t.test('SP-15.2: racing charges never overshoot either budget', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...floodable, OTP_DAILY_BUDGET: '12', OTP_DAILY_BUDGET_VISITOR: '5', OTP_DAILY_BUDGET_CLIENT: '7', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000' } });
  const race = async (scope: 'visitor' | 'client') => {
    const outcomes = await Promise.all(Array.from({ length: 40 }, () => chargeSmsCaps(gw.ctx, { scope, phone: randomKzPhone() })
      .then(() => 'sent', (err: unknown) => (err instanceof DomainError ? err.code : 'other'))));
    return { sent: outcomes.filter((o) => o === 'sent').length, limited: outcomes.filter((o) => o === 'rate_limited').length };
  };
  t.same(await race('visitor'), { sent: 5, limited: 35 }, 'exactly the visitor budget');
  t.same(await race('client'), { sent: 7, limited: 33 }, 'exactly the client budget, untouched by the visitors');
  gw.clock.advance(24 * 3_600_000);
  t.same(await race('visitor'), { sent: 5, limited: 35 }, 'a new day, a new budget');
});

t.test('SP-15.2: OTP_DAILY_BUDGET is the total, split 60/40 unless the budgets are given, never exceeded by them', async (t) => {
  const load = (env: Record<string, string>) => loadIdentityConfig({ DATA_DIR: testDataDir(), ...env }, testDataDir(), 'test').otpCaps;
  t.match(load({}), { dailyBudgetVisitor: 30_000, dailyBudgetClient: 20_000 });
  t.match(load({ OTP_DAILY_BUDGET: '1000' }), { dailyBudgetVisitor: 600, dailyBudgetClient: 400 });
  t.match(load({ OTP_DAILY_BUDGET: '1000', OTP_DAILY_BUDGET_CLIENT: '900' }), { dailyBudgetVisitor: 100, dailyBudgetClient: 900 });
  t.match(load({ OTP_DAILY_BUDGET: '1000', OTP_DAILY_BUDGET_VISITOR: '300' }), { dailyBudgetVisitor: 300, dailyBudgetClient: 700 });
  t.throws(() => load({ OTP_DAILY_BUDGET: '1000', OTP_DAILY_BUDGET_VISITOR: '600', OTP_DAILY_BUDGET_CLIENT: '600' }), { name: 'ConfigError', setting: 'OTP_DAILY_BUDGET' });
  t.throws(() => load({ OTP_DAILY_BUDGET: '1000', OTP_DAILY_BUDGET_VISITOR: '1000' }), { name: 'ConfigError', setting: 'OTP_DAILY_BUDGET_VISITOR' });
});
