// Issue 16: the SMS language is chosen at verification (from the page's language), kept with the
// client at registration, and changeable (PATCH /v1/me, audited); verification, reset, password
// change and payment SMS are written in it. A language the gateway does not know is refused
// before anything is sent.
import t from 'tap';
import { auditEvents, lastSmsCode, loginClient, randomKzPhone, sentSms } from '../../../test/support/clients.js';
import type { TestGateway } from '../../../test/support/gateway.js';
import { create, entered, kzCard, paymentBody, paymentsWorld } from '../payments/world.js';

const { gw, clock } = await paymentsWorld(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000' } });

async function lastText(phone: string): Promise<string> {
  const mine = (await sentSms(gw)).filter((m) => m.to === phone);
  return mine[mine.length - 1]?.text ?? '';
}

async function registerIn(g: TestGateway, language?: string) {
  const phone = randomKzPhone();
  const started = await g.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone, ...(language ? { language } : {}) } });
  t.equal(started.statusCode, 202);
  const text = await lastText(phone);
  const code = await lastSmsCode(g, phone);
  const confirmed = await g.app.inject({ method: 'POST', url: `/v1/verifications/${started.json().verificationId}/confirm`, payload: { code } });
  const password = 'Steppe-Wind-42';
  const reg = await g.app.inject({ method: 'POST', url: '/v1/registrations', payload: { verificationToken: confirmed.json().verificationToken, name: 'Aigerim Test', birthDate: '1990-05-17', password } });
  t.equal(reg.statusCode, 201);
  const token = await loginClient(g, phone, password);
  return { clientId: reg.json().clientId as string, phone, password, text, auth: { authorization: `Bearer ${token}` } };
}

const cyrillic = /[А-Яа-яЁё]/;
const kazakhOnly = /[ӘәҒғҚқҢңӨөҰұҮүҺһІі]/;

t.test('verification SMS in the page\'s language, Kazakh by default', async (t) => {
  t.match((await registerIn(gw, 'ru')).text, /код подтверждения телефона/);
  t.match((await registerIn(gw, 'en')).text, /is your code to verify this phone/);
  const kk = await registerIn(gw);
  t.match(kk.text, kazakhOnly, 'no language given: Kazakh');
});

t.test('the client keeps its language: payment and password-change SMS in it; PATCH /v1/me changes it', async (t) => {
  const c = await registerIn(gw, 'ru');
  const me = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: c.auth });
  t.equal(me.json().language, 'ru');
  const paid = await create(gw, { auth: c.auth } as never, paymentBody(entered(kzCard())));
  t.equal(paid.statusCode, 201);
  const ru = await lastText(c.phone);
  t.match(ru, /код оплаты 1 500,00 ₸ получателю Kcell картой \*\d{4}/);
  t.same(ru.match(/\d{6,}/g)?.length, 1, 'one 6-digit number');

  const changed = await gw.app.inject({ method: 'PATCH', url: '/v1/me', headers: c.auth, payload: { language: 'en' } });
  t.equal(changed.statusCode, 200);
  t.equal(changed.json().language, 'en');
  const again = await create(gw, { auth: c.auth } as never, paymentBody(entered(kzCard())));
  t.equal(again.statusCode, 201);
  t.match(await lastText(c.phone), /is your code to pay ₸1,500.00 to Kcell with card \*\d{4}/);

  const pwd = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: c.auth, payload: { currentPassword: c.password, newPassword: 'Other-Steppe-77' } });
  t.equal(pwd.statusCode, 202);
  t.match(await lastText(c.phone), /CHANGE YOUR PASSWORD/);

  const updates = (await auditEvents(gw, 'profile.updated')).filter((e) => e.targets?.clientId === c.clientId);
  t.same(updates.map((e) => e.details), [{ language: 'en', previous: 'ru' }], 'audited with the language it replaced');
});

t.test('password reset SMS in the language the page asked for', async (t) => {
  const c = await registerIn(gw, 'en');
  clock.advance(61_000); // past the per-phone resend cool-down
  const reset = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: c.phone, purpose: 'password_reset', language: 'kk' } });
  t.equal(reset.statusCode, 202);
  const text = await lastText(c.phone);
  t.match(text, /ҚАЛПЫНА КЕЛТІРУ/);
  t.notMatch(text, /[A-Za-z]{4,}/, 'no English words');
});

t.test('hostile: an unknown language is refused and nothing is sent; the stored one stays', async (t) => {
  const phone = randomKzPhone();
  for (const language of ['de', 'KK', 'ru-RU', '', 7, null]) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone, language } });
    t.equal(res.statusCode, 400, `verification ${JSON.stringify(language)}`);
  }
  t.equal((await sentSms(gw)).filter((m) => m.to === phone).length, 0);
  const c = await registerIn(gw, 'ru');
  for (const payload of [{ language: 'de' }, { language: 'en', name: 'Other' }, {}]) {
    const res = await gw.app.inject({ method: 'PATCH', url: '/v1/me', headers: c.auth, payload });
    t.equal(res.statusCode, 400, JSON.stringify(payload));
  }
  t.equal((await gw.app.inject({ method: 'GET', url: '/v1/me', headers: c.auth })).json().language, 'ru');
  t.match(c.text, cyrillic);
});
