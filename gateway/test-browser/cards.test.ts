// Issue 16, saved cards in a real browser against the real vault and gateway processes: a saved
// card the vault holds no stored credential for asks for its CVV once (SP-14.2), masked and never
// kept, and the retry succeeds; login and a payment with the saved card done with the keyboard
// alone, focus always visible; a removed card disappears and a stale tab paying with it reads a
// clear message in the page's language.
import t from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { sql } from 'kysely';
import { TEXTS } from '../web/i18n.js';
import { browserSteps, kzCard, newPerson } from './steps.js';
import { browserWorld } from './world.js';

const w = await browserWorld(t);
const { axeReport, open, heading, check, smsCodeInto, register, payKcell } = browserSteps(w);
const person = newPerson();
const en = TEXTS.en;
let context: BrowserContext;
let page: Page;
let clientId = '';
const card = kzCard();

t.before(async () => {
  context = await w.context('en');
  page = await context.newPage();
  await register(page, 'en', person);
  clientId = await page.evaluate(() => fetch('/v1/me').then((r) => r.json()).then((b: { id: string }) => b.id));
  await payKcell(t, page, 'en', card);
  await heading(page, en.code);
  await smsCodeInto(page, 'en', person.phone);
  await heading(page, en.succeeded);
});

t.test('SP-14.2: a saved card with no stored credential asks for its CVV (masked, cc-csc, never kept); the retry succeeds', async (t) => {
  // A card saved before the vault kept network transaction ids: the vault must have its CVV once.
  const cleared = await sql`update vault.cards set network_transaction_id = null where client_ref = ${clientId}`.execute(w.vaultDb);
  t.equal(Number(cleared.numAffectedRows), 1);
  await payKcell(t, page, 'en');
  await heading(page, en.code);
  await smsCodeInto(page, 'en', person.phone);
  await heading(page, en.cvvTitle);
  t.ok(await page.getByText(`•••• ${card.slice(-4)}`).isVisible(), 'the prompt names the card');
  const cvv = page.getByLabel(en.cvv, { exact: true });
  t.same(await cvv.evaluate((el) => ({ type: el.getAttribute('type'), autocomplete: el.getAttribute('autocomplete'), inputmode: el.getAttribute('inputmode'), value: (el as HTMLInputElement).value })),
    { type: 'password', autocomplete: 'cc-csc', inputmode: 'numeric', value: '' }, 'masked, cc-csc, numeric, empty');
  await check(t, page, 'en-cvv-prompt');
  await cvv.fill('12');
  await page.getByRole('button', { name: en.confirm, exact: true }).click();
  await page.getByText(en.required, { exact: true }).waitFor();
  t.equal(await cvv.inputValue(), '', 'a refused CVV is not echoed back');
  await cvv.fill('123');
  await page.getByRole('button', { name: en.confirm, exact: true }).click();
  await heading(page, en.succeeded);
  const kept = await page.evaluate(() => ({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), inputs: document.querySelectorAll('input').length, url: location.href }));
  t.same(kept, { local: '{}', session: '{}', inputs: 0, url: `${w.origin}/#/pay/kcell` }, 'the CVV is kept nowhere: no storage, no field, not in the URL');

  await payKcell(t, page, 'en');
  await heading(page, en.code);
  await smsCodeInto(page, 'en', person.phone);
  await heading(page, en.succeeded);
  t.pass('afterwards the card is charged on file: no CVV asked');
});

/** Every element Tab stopped on, and whether its focus showed (:focus-visible with a 2px+ outline). */
const stops: Array<{ name: string; visible: boolean }> = [];

/** Presses Tab until the focused element matches `selector`, recording each stop on the way. */
async function tabTo(p: Page, selector: string): Promise<void> {
  for (let presses = 0; presses < 30; presses++) {
    await p.keyboard.press('Tab');
    const focus = await p.evaluate((sel) => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return { matches: false, visible: true, name: 'body' };
      const style = getComputedStyle(el);
      const visible = el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      return { matches: el.matches(sel), visible, name: `${el.tagName.toLowerCase()}${el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : ''}` };
    }, selector);
    stops.push({ name: focus.name, visible: focus.visible });
    if (focus.matches) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

t.test('keyboard only: log in and pay with the saved card, focus visible at every stop', async (t) => {
  const keyboardContext = await w.context('en');
  const p = await keyboardContext.newPage();
  await open(p, '');
  await heading(p, en.login);
  await tabTo(p, 'input[name=phone]');
  await p.keyboard.type(person.phone);
  await tabTo(p, 'input[name=password]');
  await p.keyboard.type(person.password);
  await p.keyboard.press('Enter');
  await heading(p, en.providers);
  await tabTo(p, 'a[href="#/pay/kcell"]');
  await p.keyboard.press('Enter');
  await heading(p, 'Kcell');
  await tabTo(p, 'input[name=amount]');
  await p.keyboard.type('1500');
  await tabTo(p, 'input[name=phone]');
  await p.keyboard.type('+77011234567');
  await tabTo(p, 'input[name=cardChoice]');
  t.equal(await p.evaluate(() => (document.activeElement as HTMLInputElement).checked), true, 'the saved card is chosen');
  await tabTo(p, 'button[type=submit]');
  await p.keyboard.press('Enter');
  await heading(p, en.code);
  await tabTo(p, 'input[name=code]');
  await p.keyboard.type((await w.sms(person.phone)).code);
  await p.keyboard.press('Enter');
  await heading(p, en.succeeded);
  await tabTo(p, 'button');
  await p.keyboard.press('Enter');
  await heading(p, en.history);
  t.same(stops.filter((s) => !s.visible), [], `focus visible at all ${stops.length} Tab stops`);
  await keyboardContext.close();
});

t.test('a removed saved card disappears; a stale tab paying with it reads a clear message', async (t) => {
  const stale = await context.newPage();
  await open(stale, 'pay/kcell');
  await heading(stale, 'Kcell');
  await stale.getByLabel(en.amount, { exact: false }).fill('1500');
  await stale.getByLabel(en.paramPhone, { exact: true }).fill('+77011234567');
  const offered = stale.locator('input[name=cardChoice]:checked');
  t.not(await offered.getAttribute('value'), 'new', 'the stale tab offers the saved card, chosen');

  await open(page, 'cards');
  await heading(page, en.cards);
  t.equal(await page.locator('ul.list li').count(), 1);
  await page.getByRole('button', { name: `${en.remove} •••• ${card.slice(-4)}`, exact: true }).click();
  await page.getByText(en.empty, { exact: true }).waitFor();
  t.equal(await page.locator('ul.list li').count(), 0, 'the card is gone from the list');
  await check(t, page, 'en-cards-removed');

  await stale.getByRole('button', { name: en.pay, exact: true }).click();
  await stale.getByRole('alert').filter({ hasText: en.cardGone }).waitFor();
  await check(t, stale, 'en-stale-card');
  await open(stale, 'pay/kcell');
  await heading(stale, 'Kcell');
  t.equal(await stale.locator('input[name=cardChoice]').count(), 1, 'a fresh form offers only a new card');
});

t.test('no request left for another origin; no script error', async (t) => {
  t.same(w.foreignRequests, []);
  t.same(w.pageErrors, []);
  t.comment(`axe-core: ${axeReport.length} page states checked, ${axeReport.reduce((a, r) => a + r.violations, 0)} violations`);
  await context.close();
});
