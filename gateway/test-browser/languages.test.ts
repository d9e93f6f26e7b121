// Issue 16, each page in all three languages: a person whose browser asks for Kazakh, Russian or
// English goes through every main page (verification, its code, registration, login, providers,
// the payment form, the payment's code step, 3-D Secure, the result, history, a dispute, saved
// cards, password change and its code, reset, the hosted checkout). On each: the visible text is
// that language's only (no text of another, no bare key), amounts are tenge as that language
// groups them, axe-core finds no violation, and screenshots at phone and desktop width are kept.
import t from 'tap';
import type { Page } from 'playwright-core';
import { LANGS, TEXTS } from '../web/i18n.js';
import { startShop } from './shop.js';
import { browserSteps, CARDS, newPerson, tenge } from './steps.js';
import { browserWorld } from './world.js';

const w = await browserWorld(t);
const { axeReport, open, heading, check, inLanguage, smsCodeInto, register, payKcell } = browserSteps(w);
const shop = await startShop(t, w);

for (const l of LANGS) {
  t.test(`every main page in ${l}: its language only, tenge, axe-core, screenshots`, async (t) => {
    const context = await w.context(l);
    const page = await context.newPage();
    const person = newPerson();
    const text = TEXTS[l];
    const each = async (name: string) => {
      await inLanguage(t, page, l, `${l}-${name}`);
      await check(t, page, `${l}-${name}`);
    };
    const amountShown = async (p: Page, where: string) => t.match(await p.locator('main').innerText(), tenge(l, '1 500'), `${where}: 1 500 tenge as ${l} writes it`);

    await register(page, l, person, each);
    await each('providers');
    await payKcell(t, page, l, CARDS.challenge, async () => {
      t.ok(await page.getByLabel(text.paramPhone, { exact: true }).isVisible(), 'the provider\'s parameter in the page\'s language');
      await each('payment-form');
    });
    await heading(page, text.code);
    await amountShown(page, 'code step');
    await each('payment-code');
    await smsCodeInto(page, l, person.phone);
    await heading(page, text.threeDs);
    await amountShown(page, '3-D Secure');
    await each('3ds');
    await page.getByRole('button', { name: text.threeDsPass, exact: true }).click();
    await heading(page, text.succeeded);
    await amountShown(page, 'result');
    await each('result');

    await open(page, 'history');
    await heading(page, text.history);
    await amountShown(page, 'history');
    await each('history');
    await page.getByRole('link', { name: text.dispute }).first().click();
    await heading(page, text.disputes);
    await each('dispute');
    await open(page, 'cards');
    await heading(page, text.cards);
    await each('cards');

    await open(page, 'password');
    await heading(page, text.changePassword);
    await each('password-change');
    await page.getByLabel(text.currentPassword, { exact: true }).fill(person.password);
    await page.getByLabel(text.newPassword, { exact: true }).fill('Other-Steppe-77');
    await page.getByRole('button', { name: text.changePassword, exact: true }).click();
    await page.getByLabel(text.code, { exact: true }).waitFor();
    await each('password-code');
    await smsCodeInto(page, l, person.phone);
    await page.getByText(text.saved, { exact: true }).waitFor();
    await open(page, 'reset');
    await heading(page, text.reset);
    await each('reset');

    await page.goto(`${shop.origin}/buy?order=${l}-order`);
    await page.waitForURL(new RegExp(`^${w.origin}/checkout/`));
    await heading(page, text.checkout);
    await amountShown(page, 'hosted checkout');
    await each('checkout');
    await context.close();
  });
}

t.test('no request left for another origin; no script error', async (t) => {
  t.same(w.foreignRequests, []);
  t.same(w.pageErrors, []);
  t.comment(`axe-core: ${axeReport.length} page states checked, ${axeReport.reduce((a, r) => a + r.violations, 0)} violations`);
});
