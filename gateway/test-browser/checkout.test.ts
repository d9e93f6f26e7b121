// Issue 16, the hosted checkout round trip in a real browser: the example shop
// (examples/merchant/server.ts, its own process on https) creates a checkout session and sends the
// customer to the gateway's hosted page; the customer logs in, pays (SMS code from the outbox) and
// lands back on the shop's return page, which shows the order paid; the shop received the
// `checkout.session.completed` webhook and verified it with `standardwebhooks`. A customer who
// cancels goes back to the cancel URL; an expired session shows a clear page. A person with no
// account verifies a phone and registers from the checkout's login step and comes back to the same
// checkout to pay; one who forgot the password resets it there (SP-10) and pays the same session.
// Checkout pages carry no bank navigation (its links would only redraw the checkout).
import t, { type Test } from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { TEXTS, type Lang } from '../web/i18n.js';
import { startShop } from './shop.js';
import { browserSteps, kzCard, newPerson, tenge } from './steps.js';
import { browserWorld } from './world.js';

const w = await browserWorld(t);
const { axeReport, heading, check, inLanguage, smsCodeInto, register, verifyAndRegister, newCardInto } = browserSteps(w);
const shop = await startShop(t, w);
const person = newPerson();
const ru = TEXTS.ru;
const kk = TEXTS.kk;
let context: BrowserContext;
let page: Page;

/** Opens the shop's /buy for `order`; the browser is redirected to the hosted checkout. Returns the session id. */
async function buy(p: Page, order: string): Promise<string> {
  await p.goto(`${shop.origin}/buy?order=${order}`);
  await p.waitForURL(new RegExp(`^${w.origin}/checkout/`));
  return new URL(p.url()).pathname.split('/').pop()!;
}

/** From the paid result: back to the shop's return page, which asked the gateway and shows the order paid; the shop verified the webhook. */
async function backToShopPaid(t: Test, p: Page, l: Lang, order: string, sessionId: string): Promise<void> {
  await p.getByRole('button', { name: TEXTS[l].back, exact: true }).click();
  await p.waitForURL(`${shop.origin}/done?order=${order}`);
  t.match(await p.locator('body').innerText(), new RegExp(`Paid: order ${order}`), 'the shop\'s return page, which asked the gateway, shows it paid');
  await shop.printed(`webhook checkout.session.completed ${sessionId}`);
  t.pass('the shop verified checkout.session.completed with standardwebhooks');
  t.equal((await shop.api('GET', `/v1/checkout/sessions/${sessionId}`)).body.status, 'complete');
}

t.before(async () => {
  // The customer is a client of the bank already; this browser has no session with it.
  const setup = await w.context('ru');
  await register(await setup.newPage(), 'ru', person);
  await setup.close();
  context = await w.context('ru');
  page = await context.newPage();
});

t.test('shop → hosted checkout → log in → pay → back on the shop\'s return page, paid; the shop verified the webhook', async (t) => {
  const sessionId = await buy(page, 'order-1');
  t.equal(page.url(), `${w.origin}/checkout/${sessionId}`, 'the hosted checkout on the gateway\'s origin');
  await heading(page, ru.login);
  t.equal(await page.locator('header nav').count(), 0, 'no bank navigation on the checkout');
  await check(t, page, 'ru-checkout-login');
  await page.getByLabel(ru.phone, { exact: true }).fill(person.phone);
  await page.getByLabel(ru.password, { exact: true }).fill(person.password);
  await page.getByRole('button', { name: ru.login, exact: true }).click();

  await heading(page, ru.checkout);
  t.ok(await page.getByText('Example Shop').isVisible(), 'the merchant\'s name');
  t.match(await page.locator('.amount').innerText(), tenge('ru', '1 500'), 'the amount in tenge, Russian grouping');
  await inLanguage(t, page, 'ru', 'ru-checkout');
  t.equal(await page.getByLabel(ru.expiry, { exact: true }).getAttribute('placeholder'), 'ММ/ГГ', 'the expiry hint in Russian');
  await newCardInto(t, page, 'ru', kzCard());
  await check(t, page, 'ru-checkout');
  await page.getByRole('button', { name: ru.pay, exact: true }).click();
  await heading(page, ru.code);
  const sms = await smsCodeInto(page, 'ru', person.phone);
  t.match(sms, /Example Shop|Kcell/, 'the SMS names the payee');
  await heading(page, ru.succeeded);
  await check(t, page, 'ru-checkout-result');
  await backToShopPaid(t, page, 'ru', 'order-1', sessionId);
});

t.test('cancel → back to the shop\'s cancel URL, nothing paid', async (t) => {
  const sessionId = await buy(page, 'order-2');
  await heading(page, ru.checkout);
  await page.getByRole('link', { name: ru.cancelCheckout, exact: true }).click();
  await page.waitForURL(`${shop.origin}/done?order=order-2`);
  t.match(await page.locator('body').innerText(), /Not paid \(open\)/);
  t.equal((await shop.api('GET', `/v1/checkout/sessions/${sessionId}`)).body.status, 'open');
});

t.test('an expired session shows a clear page with the way back', async (t) => {
  const sessionId = await buy(page, 'order-3');
  await heading(page, ru.checkout);
  t.equal((await shop.api('POST', `/v1/checkout/sessions/${sessionId}/expire`)).status, 200, 'the merchant ends the session');
  await page.reload();
  await heading(page, ru.checkout);
  await page.getByText(ru.expired, { exact: true }).waitFor();
  t.equal(await page.locator('input').count(), 0, 'nothing to pay with');
  await inLanguage(t, page, 'ru', 'ru-checkout-expired');
  await check(t, page, 'ru-checkout-expired');
  await page.getByRole('button', { name: ru.back, exact: true }).click();
  await page.waitForURL(`${shop.origin}/done?order=order-3`);
  t.match(await page.locator('body').innerText(), /Not paid \(expired\)/);
});

t.test('a new customer: shop → hosted checkout → verify the phone → register → log in → pay → back on the shop\'s return page, paid', async (t) => {
  const newcomer = newPerson();
  const fresh = await w.context('kk');
  const p = await fresh.newPage();
  const sessionId = await buy(p, 'order-4');
  await heading(p, kk.login);
  await p.getByRole('button', { name: kk.noAccountVerify, exact: true }).click();
  await verifyAndRegister(p, 'kk', newcomer, async (step) => {
    await inLanguage(t, p, 'kk', `kk-checkout-${step}`);
    await check(t, p, `kk-checkout-${step}`);
  });

  await heading(p, kk.checkout);
  t.equal(p.url(), `${w.origin}/checkout/${sessionId}`, 'back on the same checkout; nothing added to its URL');
  t.same(await p.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'nothing kept in the browser\'s storage');
  t.ok(await p.getByText('Example Shop').isVisible(), 'the merchant\'s name');
  t.match(await p.locator('.amount').innerText(), tenge('kk', '1 500'), 'the same amount');
  await newCardInto(t, p, 'kk', kzCard());
  await check(t, p, 'kk-checkout-registered');
  await p.getByRole('button', { name: kk.pay, exact: true }).click();
  await heading(p, kk.code);
  await smsCodeInto(p, 'kk', newcomer.phone);
  await heading(p, kk.succeeded);
  await backToShopPaid(t, p, 'kk', 'order-4', sessionId);
  await fresh.close();
});

t.test('SP-10 from the checkout: forgot the password → reset with the SMS code and birth date → log in → pay the same session with the saved card → back on the shop, paid', async (t) => {
  const fresh = await w.context('kk');
  const p = await fresh.newPage();
  const sessionId = await buy(p, 'order-5');
  await heading(p, kk.login);
  await p.getByRole('button', { name: kk.forgot, exact: true }).click();
  await heading(p, kk.reset);
  await inLanguage(t, p, 'kk', 'kk-checkout-reset');
  await check(t, p, 'kk-checkout-reset');
  await p.getByLabel(kk.phone, { exact: true }).fill(person.phone);
  await p.getByRole('button', { name: kk.sendCode, exact: true }).click();
  await heading(p, kk.code);
  await check(t, p, 'kk-checkout-reset-code');
  await smsCodeInto(p, 'kk', person.phone);
  await heading(p, kk.reset);
  await p.getByLabel(kk.birthDate, { exact: true }).fill(person.birthDate);
  await p.getByLabel(kk.newPassword, { exact: true }).pressSequentially('Fourth-Steppe-63');
  await check(t, p, 'kk-checkout-reset-password');
  await p.getByRole('button', { name: kk.reset, exact: true }).click();
  await heading(p, kk.login);
  t.equal(await p.getByLabel(kk.phone, { exact: true }).inputValue(), person.phone, 'the phone just verified, filled in');
  await check(t, p, 'kk-checkout-reset-login');
  person.password = 'Fourth-Steppe-63';
  await p.getByLabel(kk.password, { exact: true }).fill(person.password);
  await p.getByRole('button', { name: kk.login, exact: true }).click();

  await heading(p, kk.checkout);
  t.equal(p.url(), `${w.origin}/checkout/${sessionId}`, 'back on the same checkout; nothing added to its URL');
  t.equal(await p.locator('header nav').count(), 0, 'no bank navigation once logged in either');
  t.match(await p.locator('fieldset').innerText(), /: Visa •••• \d{4}/, 'the saved card by its brand\'s proper name');
  t.equal(await p.getByLabel(kk.expiry, { exact: true }).getAttribute('placeholder'), 'АА/ЖЖ', 'the expiry hint in Kazakh');
  t.equal(await p.getByLabel(kk.expiry, { exact: true }).getAttribute('autocomplete'), 'cc-exp');
  await check(t, p, 'kk-checkout-after-reset');
  await p.getByRole('button', { name: kk.pay, exact: true }).click();
  await heading(p, kk.code);
  await smsCodeInto(p, 'kk', person.phone);
  await heading(p, kk.succeeded);
  t.match(await p.locator('.notice').innerText(), / · Visa •••• \d{4}$/, 'the result names the brand properly');
  await backToShopPaid(t, p, 'kk', 'order-5', sessionId);
  await fresh.close();
});

t.test('no request left for another origin; no script error', async (t) => {
  t.same(w.foreignRequests, []);
  t.same(w.pageErrors, []);
  t.comment(`axe-core: ${axeReport.length} page states checked, ${axeReport.reduce((a, r) => a + r.violations, 0)} violations`);
  await context.close();
});
