// What a person does on the pages, as the browser tests drive it: open a view, wait for its
// heading, read the SMS code from the outbox, log in, register, fill the payment form; and what
// every view is checked for: axe-core, screenshots at phone and desktop width, and its language.
import type { Test } from 'tap';
import type { Page } from 'playwright-core';
import { randomCard } from '../../test/support/cards.js';
import { randomKzPhone } from '../../test/support/clients.js';
import { PROBLEMS, TEXTS, type Lang } from '../web/i18n.js';
import { axeViolations, DESKTOP, PHONE, screenshot, type BrowserWorld } from './world.js';

export const CARDS = { challenge: '4400430000000015', foreignVisa: '4000000000000002' };
export const kzCard = () => randomCard('440043');

export interface Person { phone: string; password: string; name: string; birthDate: string }

export function newPerson(): Person {
  return { phone: randomKzPhone(), password: 'Steppe-Wind-42', name: 'Aigerim Test', birthDate: '1990-05-17' };
}

/** 1 500,00 ₸ as each language writes it (Kazakh as Russian does in Kazakhstan, any of the spaces ICU uses). */
export function tenge(l: Lang, whole: string): RegExp {
  const sp = '[\\s\\u00a0\\u202f]';
  if (l === 'en') return new RegExp(`₸${whole.replace(' ', ',')}\\.00`);
  return new RegExp(`${whole.replace(' ', sp)},00${sp}₸`);
}

export function browserSteps(w: BrowserWorld) {
  const axeReport: Array<{ page: string; violations: number }> = [];

  /** A full load of the page at `#/route` (a hash the page is already on would not draw it again). */
  async function open(page: Page, route: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(`${w.origin}/#/${route}`);
  }

  async function heading(page: Page, name: string): Promise<void> {
    await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  }

  /** axe-core on the page as it is now (zero violations) and screenshots at phone and desktop width. */
  async function check(t: Test, page: Page, name: string): Promise<void> {
    const violations = await axeViolations(page);
    axeReport.push({ page: name, violations: violations.length });
    t.same(violations, [], `${name}: no axe-core violations`);
    for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
      await page.setViewportSize(viewport);
      await screenshot(page, `${name}-${size}`);
    }
    await page.setViewportSize(PHONE);
  }

  /**
   * The visible text is in `l` only: no text of another language's tables that `l`'s lack, and
   * no bare text key.
   */
  async function inLanguage(t: Test, page: Page, l: Lang, name: string): Promise<void> {
    const text = await page.locator('body').innerText();
    const own = new Set([...Object.values(TEXTS[l]), ...Object.values(PROBLEMS[l])]);
    const foreign = (Object.keys(TEXTS) as Lang[]).filter((o) => o !== l)
      .flatMap((o) => [...Object.values(TEXTS[o]), ...Object.values(PROBLEMS[o])])
      .filter((v) => v.length >= 4 && !own.has(v) && text.includes(v));
    t.same(foreign, [], `${name}: no text of another language`);
    // Keys of two words and more (camelCase): a one-word key is also an English word a provider's name may hold.
    const keys = Object.keys(TEXTS[l]).filter((k) => /[A-Z]/.test(k) && new RegExp(`\\b${k}\\b`).test(text));
    t.same(keys, [], `${name}: no untranslated key`);
  }

  async function smsCodeInto(page: Page, l: Lang, phone: string): Promise<string> {
    const { code, text } = await w.sms(phone);
    await page.getByLabel(TEXTS[l].code, { exact: true }).fill(code);
    await page.getByRole('button', { name: TEXTS[l].confirm, exact: true }).click();
    return text;
  }

  async function login(page: Page, l: Lang, person: Person, password = person.password): Promise<void> {
    await open(page, '');
    await heading(page, TEXTS[l].login);
    await page.getByLabel(TEXTS[l].phone, { exact: true }).fill(person.phone);
    await page.getByLabel(TEXTS[l].password, { exact: true }).fill(password);
    await page.getByRole('button', { name: TEXTS[l].login, exact: true }).click();
  }

  /**
   * From the verification view already on the page: verifies the phone, registers and logs in
   * (where the login leads is the caller's to check); `onEach` sees every step's view as it is drawn.
   */
  async function verifyAndRegister(page: Page, l: Lang, person: Person, onEach: (step: string) => Promise<void> = async () => {}): Promise<void> {
    await heading(page, TEXTS[l].register);
    await onEach('verification');
    await page.getByLabel(TEXTS[l].phone, { exact: true }).fill(person.phone);
    await page.getByRole('button', { name: TEXTS[l].sendCode, exact: true }).click();
    await heading(page, TEXTS[l].code);
    await onEach('code');
    await smsCodeInto(page, l, person.phone);
    await heading(page, TEXTS[l].register);
    await page.getByLabel(TEXTS[l].name, { exact: true }).fill(person.name);
    await page.getByLabel(TEXTS[l].birthDate, { exact: true }).fill(person.birthDate);
    await page.getByLabel(TEXTS[l].password, { exact: true }).pressSequentially(person.password);
    await onEach('registration');
    await page.getByRole('button', { name: TEXTS[l].register, exact: true }).click();
    await heading(page, TEXTS[l].login);
    await onEach('login');
    await page.getByLabel(TEXTS[l].password, { exact: true }).fill(person.password);
    await page.getByRole('button', { name: TEXTS[l].login, exact: true }).click();
  }

  /** Verifies the phone, registers and logs in from the bank's own registration page. */
  async function register(page: Page, l: Lang, person: Person, onEach: (step: string) => Promise<void> = async () => {}): Promise<void> {
    await open(page, 'register');
    await verifyAndRegister(page, l, person, onEach);
    await heading(page, TEXTS[l].providers);
  }

  /** Fills a new card's number (checked grouped as typed), expiry and CVV in the form on the page. */
  async function newCardInto(t: Test, page: Page, l: Lang, card: string): Promise<void> {
    await page.getByLabel(TEXTS[l].newCard, { exact: true }).check();
    const number = page.getByLabel(TEXTS[l].cardNumber, { exact: true });
    await number.pressSequentially(card);
    t.equal(await number.inputValue(), card.replace(/(\d{4})(?=\d)/g, '$1 '), 'card number grouped as typed');
    await page.getByLabel(TEXTS[l].expiry, { exact: true }).fill('12/30');
    await page.getByLabel(TEXTS[l].cvv, { exact: true }).fill('123');
  }

  /** Fills the payment form for Kcell and pays; `card` is a number (new card) or undefined (the first saved card). */
  async function payKcell(t: Test, page: Page, l: Lang, card?: string, onForm: () => Promise<void> = async () => {}): Promise<void> {
    await open(page, 'pay/kcell');
    await heading(page, 'Kcell');
    await onForm();
    await page.getByLabel(TEXTS[l].amount, { exact: false }).fill('1500');
    await page.getByLabel(TEXTS[l].paramPhone, { exact: true }).fill('+77011234567');
    if (card !== undefined) await newCardInto(t, page, l, card);
    await page.getByRole('button', { name: TEXTS[l].pay, exact: true }).click();
  }

  return { axeReport, open, heading, check, inLanguage, smsCodeInto, login, register, verifyAndRegister, newCardInto, payKcell };
}
