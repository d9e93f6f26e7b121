// The bank's pages: one script that draws each step from the public API's answers. The server
// picks the language (<html lang>) and the view (<body data-view>, data-session for checkout).
import { api, idempotencyKey, type Problem } from './api.js';
import { brandName, digitsOf, groupCardNumber, luhnValid, parseExpiry } from './card.js';
import { field, h } from './dom.js';
import { LANGS, LOCALES, PROBLEMS, TEXTS, type Lang, type TextKey } from './i18n.js';

const LANG_COOKIE = '__Host-pgw_lang';
const lang = (LANGS as readonly string[]).includes(document.documentElement.lang) ? document.documentElement.lang as Lang : 'kk';
const t = (key: TextKey): string => TEXTS[lang][key];
const main = document.getElementById('main')!;

interface Provider { id: string; name: string; currency: string; minAmount: number; maxAmount: number; params: { name: string; label: string; pattern: string; example: string }[] }
interface SavedCard { id: string; brand: string; last4: string; expMonth: number; expYear: number; status: string }
interface Payment { id: string; status: string; amount: { value: number; currency: string }; provider: { name: string }; card: { brand: string; last4: string }; declineReason?: string; nextAction?: { url: string }; createdAt: string }
interface CheckoutSession { id: string; merchant: { name: string }; amount: { value: number; currency: string }; status: string; returnUrl: string; cancelUrl: string | null }

function money(value: number, currency: string): string {
  return new Intl.NumberFormat(LOCALES[lang], { style: 'currency', currency, currencyDisplay: 'narrowSymbol' }).format(value / 100);
}

function problemText(p: Problem): string {
  if (p.code === 'login_locked' && p.retryAfter) {
    const until = new Date(Date.now() + Number(p.retryAfter) * 1000);
    return `${t('locked')} ${new Intl.DateTimeFormat(LOCALES[lang], { hour: '2-digit', minute: '2-digit' }).format(until)}`;
  }
  return PROBLEMS[lang][p.code] ?? t('errorGeneric');
}

/** A saved card gone since the form was drawn (removed in another tab) is 404 on the API: say so plainly. */
function paymentProblemText(p: Problem, card: Record<string, unknown>): string {
  return p.code === 'not_found' && 'cardId' in card ? t('cardGone') : problemText(p);
}

function show(title: string, ...content: (Node | null)[]): void {
  document.title = `${title} · ${t('appName')}`;
  main.replaceChildren(h('h1', { tabindex: '-1' }, title), ...content.filter((c): c is Node => c !== null));
  (main.querySelector('h1') as HTMLElement).focus();
}

function notice(text: string, kind: '' | 'bad' | 'ok' = ''): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'bad' ? 'alert' : 'status' }, text);
}

/** A form whose submit runs `onSubmit`; its button is disabled while a call is in flight. */
function form(label: string, fields: HTMLElement[], onSubmit: (status: HTMLElement) => Promise<void>): HTMLElement {
  const status = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, label) as HTMLButtonElement;
  const el = h('form', { class: 'card', novalidate: true }, ...fields, status, button);
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    status.replaceChildren();
    onSubmit(status).finally(() => { button.disabled = false; });
  });
  return el;
}

function codeField() {
  return field(t('code'), { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', required: true, placeholder: t('codeHint') });
}

// ---- header: navigation and language switch (remembered in a cookie the server reads) ----

/**
 * On the hosted checkout the fragment does not pick a view, so the bank's navigation would only
 * redraw the checkout: a person paying gets the language switch alone, and the checkout's own steps
 * (log in, verify and register, reset the password) all lead back to the same session.
 */
function header(loggedIn: boolean, checkout: boolean): HTMLElement {
  const select = h('select', { id: 'lang', 'aria-label': t('language') },
    ...LANGS.map((l) => h('option', { value: l, selected: l === lang }, { kk: 'Қазақша', ru: 'Русский', en: 'English' }[l]))) as HTMLSelectElement;
  select.addEventListener('change', async () => {
    document.cookie = `${LANG_COOKIE}=${select.value}; Path=/; Secure; SameSite=Strict; Max-Age=31536000`;
    // A client's SMS texts follow the language it reads the pages in.
    if (loggedIn) await api('PATCH', '/v1/me', { language: select.value });
    location.reload();
  });
  const links = loggedIn
    ? [h('a', { href: '#/' }, t('providers')), h('a', { href: '#/history' }, t('history')),
      h('a', { href: '#/cards' }, t('cards')), h('a', { href: '#/password' }, t('changePassword')),
      h('a', { href: '#/logout' }, t('logout'))]
    : [h('a', { href: '#/' }, t('login')), h('a', { href: '#/register' }, t('register'))];
  return h('header', {}, h('strong', {}, t('appName')), checkout ? null : h('nav', { 'aria-label': t('appName') }, ...links), select);
}

// ---- identity: verification, registration, login, reset, password change ----

function phoneStep(purpose: 'verification' | 'password_reset', next: (token: string, phone: string, registered: boolean) => void): void {
  const phone = field(t('phone'), { name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, placeholder: t('phoneHint') });
  show(purpose === 'verification' ? t('register') : t('reset'), form(t('sendCode'), [phone.block], async () => {
    const started = await api<{ verificationId: string }>('POST', '/v1/verifications', { phone: phone.input.value, purpose, language: lang });
    if (!started.ok) return phone.error(problemText(started.problem));
    const code = codeField();
    show(t('code'), notice(t('codeHint')), form(t('confirm'), [code.block], async () => {
      const done = await api<{ verificationToken: string; registered: boolean }>('POST', `/v1/verifications/${started.body.verificationId}/confirm`, { code: code.input.value });
      if (!done.ok) return code.error(problemText(done.problem));
      next(done.body.verificationToken, phone.input.value, done.body.registered);
    }));
  }));
}

/** SP-7 as the person types; the common-password list is the server's, so that rule is checked on submit. */
function passwordRules(input: HTMLInputElement, phone: () => string): HTMLElement {
  const rules: [TextKey, (p: string) => boolean][] = [
    ['ruleLength', (p) => [...p].length >= 7 && [...p].length <= 128],
    ['ruleNotDigits', (p) => p.length > 0 && !/^\d+$/.test(p)],
    ['ruleNoPhone', (p) => { const d = digitsOf(phone()).slice(-10); return p.length > 0 && (d.length < 7 || !digitsOf(p).includes(d)); }],
  ];
  const items = rules.map(([key]) => h('li', {}, t(key)));
  const list = h('ul', { class: 'rules', 'aria-live': 'polite' }, ...items, h('li', {}, t('ruleCommon')));
  input.addEventListener('input', () => rules.forEach(([, ok], i) => items[i]!.classList.toggle('met', ok(input.value))));
  return list;
}

/** `then` runs once the new client has logged in: the bank's home, or the checkout that sent them here. */
function registerView(then?: () => void): void {
  phoneStep('verification', (verificationToken, phoneNumber, registered) => {
    if (registered) return loginView(phoneNumber, then);
    const name = field(t('name'), { name: 'name', autocomplete: 'name', required: true });
    const birth = field(t('birthDate'), { name: 'birthDate', type: 'date', autocomplete: 'bday', required: true });
    const password = field(t('password'), { name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    password.block.append(passwordRules(password.input, () => phoneNumber));
    show(t('register'), form(t('register'), [name.block, birth.block, password.block], async () => {
      const done = await api('POST', '/v1/registrations', { verificationToken, name: name.input.value, birthDate: birth.input.value, password: password.input.value });
      if (!done.ok) return (done.problem.code.startsWith('password') ? password : name).error(problemText(done.problem));
      loginView(phoneNumber, then);
    }));
  });
}

/**
 * Without `then` the login leads to the bank's home and registration is its own route. With it (the
 * hosted checkout, whose URL's fragment does not pick a view), registration runs in place and leads
 * back to `then`, so the checkout's session stays where it is, in the page's path.
 */
function loginView(phoneNumber = '', then?: () => void): void {
  const phone = field(t('phone'), { name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, value: phoneNumber });
  const password = field(t('password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  show(t('login'), form(t('login'), [phone.block, password.block], async (status) => {
    const done = await api('POST', '/v1/sessions', { phone: phone.input.value, password: password.input.value }, { 'x-session-transport': 'cookie' });
    if (!done.ok) {
      if (done.problem.code === 'client_blocked') return blockedView();
      status.append(notice(problemText(done.problem), 'bad'));
      return;
    }
    if (then) return then();
    location.hash = '#/';
    void route();
  }), then
    ? h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: () => registerView(then) }, t('noAccountVerify')))
    : h('p', {}, h('a', { href: '#/register' }, t('newClient'))),
  h('p', {}, then
    ? h('button', { type: 'button', class: 'secondary', onclick: () => resetView(then) }, t('forgot'))
    : h('a', { href: '#/reset' }, t('forgot'))));
}

/** `then` as for `registerView`: the login with the new password leads back to the checkout that sent the person here. */
function resetView(then?: () => void): void {
  phoneStep('password_reset', (verificationToken, phoneNumber) => {
    const birth = field(t('birthDate'), { name: 'birthDate', type: 'date', autocomplete: 'bday', required: true });
    const password = field(t('newPassword'), { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true });
    password.block.append(passwordRules(password.input, () => ''));
    show(t('reset'), form(t('reset'), [birth.block, password.block], async () => {
      const done = await api('POST', '/v1/password-resets', { verificationToken, birthDate: birth.input.value, newPassword: password.input.value });
      if (!done.ok) return password.error(problemText(done.problem));
      loginView(phoneNumber, then);
    }));
  });
}

function passwordChangeView(): void {
  const current = field(t('currentPassword'), { name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true });
  const next = field(t('newPassword'), { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true });
  next.block.append(passwordRules(next.input, () => ''));
  show(t('changePassword'), form(t('changePassword'), [current.block, next.block], async () => {
    const started = await api<{ passwordChangeId: string }>('POST', '/v1/password-changes', { currentPassword: current.input.value, newPassword: next.input.value });
    if (!started.ok) return (started.problem.code === 'password_incorrect' ? current : next).error(problemText(started.problem));
    const code = codeField();
    show(t('changePassword'), notice(t('codeHint')), form(t('confirm'), [code.block], async () => {
      const done = await api('POST', `/v1/password-changes/${started.body.passwordChangeId}/confirm`, { code: code.input.value });
      if (!done.ok) return code.error(problemText(done.problem));
      show(t('changePassword'), notice(t('saved'), 'ok'));
    }));
  }));
}

function blockedView(): void {
  document.body.replaceChildren(h('main', { id: 'main' }, h('h1', {}, t('blockedTitle')), notice(t('blockedText'), 'bad')));
  document.title = t('blockedTitle');
}

// ---- payments: providers, the form, the code step, 3-D Secure, the result ----

/** Saved cards as radio buttons plus "new card" (number, expiry, CVV); returns the API's card choice. */
async function cardChooser(): Promise<{ block: HTMLElement; choice: () => Record<string, unknown> | 'invalid' }> {
  const saved = await api<{ data: SavedCard[] }>('GET', '/v1/cards');
  const cards = saved.ok ? saved.body.data.filter((c) => c.status === 'active') : [];
  const number = field(t('cardNumber'), { name: 'cardnumber', autocomplete: 'cc-number', inputmode: 'numeric', required: true });
  const expiry = field(t('expiry'), { name: 'exp', autocomplete: 'cc-exp', inputmode: 'numeric', placeholder: t('expiryHint'), maxlength: '7', required: true });
  const cvv = field(t('cvv'), { name: 'cvc', type: 'password', autocomplete: 'cc-csc', inputmode: 'numeric', maxlength: '4', required: true });
  number.input.addEventListener('input', () => {
    number.input.value = groupCardNumber(number.input.value);
    const d = digitsOf(number.input.value);
    number.error(d.length >= 12 && !luhnValid(d) ? t('luhnBad') : '');
  });
  const newCard = h('div', {}, number.block, h('div', { class: 'row' }, expiry.block, cvv.block));
  const options = [...cards.map((c) => ({ value: c.id, label: `${t('savedCard')}: ${brandName(c.brand)} •••• ${c.last4}` })), { value: 'new', label: t('newCard') }];
  const radios = options.map((o, i) => h('label', {}, h('input', { type: 'radio', name: 'cardChoice', value: o.value, checked: i === 0 }), ` ${o.label}`));
  const group = h('fieldset', {}, h('legend', {}, t('card')), ...radios.flatMap((r) => [r, h('br')]), newCard);
  const selected = () => (group.querySelector('input[name=cardChoice]:checked') as HTMLInputElement).value;
  const sync = () => { newCard.hidden = selected() !== 'new'; };
  group.addEventListener('change', sync);
  sync();
  return {
    block: group,
    choice() {
      if (selected() !== 'new') return { cardId: selected() };
      const d = digitsOf(number.input.value);
      const exp = parseExpiry(expiry.input.value);
      if (!luhnValid(d)) { number.error(t('luhnBad')); return 'invalid'; }
      if (!exp) { expiry.error(t('required')); return 'invalid'; }
      if (!/^\d{3,4}$/.test(cvv.input.value)) { cvv.error(t('required')); return 'invalid'; }
      return { number: d, expMonth: exp.month, expYear: exp.year, cvv: cvv.input.value };
    },
  };
}

async function providersView(): Promise<void> {
  const list = await api<Provider[]>('GET', '/v1/providers');
  if (!list.ok) return void show(t('providers'), notice(problemText(list.problem), 'bad'));
  show(t('providers'), h('ul', { class: 'list card' }, ...list.body.map((p) =>
    h('li', {}, h('span', {}, p.name), h('a', { href: `#/pay/${encodeURIComponent(p.id)}` }, t('pay'))))));
}

/** The provider's parameter in the page's language when it is one of the usual ones; else the provider's own label. */
function paramLabel(p: Provider['params'][number]): string {
  const known: Record<string, TextKey> = { phone: 'paramPhone', account: 'paramAccount', login: 'paramLogin' };
  return p.name in known && lang !== 'en' ? t(known[p.name]!) : p.label;
}

async function payView(providerId: string): Promise<void> {
  const list = await api<Provider[]>('GET', '/v1/providers');
  const provider = list.ok ? list.body.find((p) => p.id === providerId) : undefined;
  if (!provider) return providersView();
  const amount = field(`${t('amount')} (${money(provider.minAmount, provider.currency)} – ${money(provider.maxAmount, provider.currency)})`,
    { name: 'amount', inputmode: 'decimal', autocomplete: 'transaction-amount', required: true });
  const params = provider.params.map((p) => ({ p, f: field(paramLabel(p), { name: p.name, placeholder: p.example, inputmode: p.name === 'phone' ? 'tel' : undefined, autocomplete: 'off', required: true }) }));
  const chooser = await cardChooser();
  show(provider.name, form(t('pay'), [amount.block, ...params.map((x) => x.f.block), chooser.block], async (status) => {
    const value = Math.round(Number(amount.input.value.replace(/\s/g, '').replace(',', '.')) * 100);
    if (!Number.isFinite(value) || value <= 0) return amount.error(t('required'));
    const card = chooser.choice();
    if (card === 'invalid') return;
    const body = { providerId, amount: { value, currency: provider.currency }, params: Object.fromEntries(params.map((x) => [x.p.name, x.f.input.value])), card };
    const started = await api<Payment>('POST', '/v1/payments', body, { 'idempotency-key': idempotencyKey() });
    if (!started.ok) return void status.append(notice(paymentProblemText(started.problem, card), 'bad'));
    codeStep(started.body, { label: 'done', go: () => { location.hash = '#/history'; } });
  }));
}

/** Where a finished payment leads: the bank's history, or back to the merchant's shop. */
interface Next { label: TextKey; go: () => void }

/** A payment's outcome after its code (or CVV): a 3-D Secure challenge, or the result. */
function answered(payment: Payment, next: Next): void {
  if (payment.status === 'requires_action') return threeDsStep(payment, next);
  resultView(payment, next);
}

function codeStep(payment: Payment, next: Next): void {
  const code = codeField();
  show(t('code'), h('p', { class: 'amount' }, money(payment.amount.value, payment.amount.currency)), notice(t('codeSent')),
    form(t('confirm'), [code.block], async () => {
      const done = await api<Payment>('POST', `/v1/payments/${payment.id}/confirm`, { code: code.input.value });
      if (!done.ok) {
        if (done.problem.code === 'cvv_required') return cvvStep(payment, code.input.value, next);
        return code.error(problemText(done.problem));
      }
      answered(done.body, next);
    }));
}

/**
 * SP-14.2: a saved card with no approved payment to charge on file needs its CVV once. The CVV
 * goes in this one confirm call and nowhere else; the field is emptied after every answer.
 */
function cvvStep(payment: Payment, code: string, next: Next): void {
  const cvv = field(t('cvv'), { name: 'cvc', type: 'password', autocomplete: 'cc-csc', inputmode: 'numeric', maxlength: '4', required: true });
  show(t('cvvTitle'), notice(`${t('cvvNeeded')} ${brandName(payment.card.brand)} •••• ${payment.card.last4}`),
    form(t('confirm'), [cvv.block], async () => {
      const value = cvv.input.value;
      cvv.input.value = '';
      if (!/^\d{3,4}$/.test(value)) return cvv.error(t('required'));
      const done = await api<Payment>('POST', `/v1/payments/${payment.id}/confirm`, { code, cvv: value });
      if (!done.ok) return cvv.error(problemText(done.problem));
      answered(done.body, next);
    }));
}

function threeDsStep(payment: Payment, next: Next): void {
  const answer = (result: 'pass' | 'fail') => async () => {
    const done = await api<Payment>('POST', `/v1/payments/${payment.id}/3ds`, { result });
    if (!done.ok) return void main.append(notice(problemText(done.problem), 'bad'));
    resultView(done.body, next);
  };
  show(t('threeDs'), h('p', { class: 'amount' }, money(payment.amount.value, payment.amount.currency)),
    h('p', {}, h('a', { href: payment.nextAction?.url ?? '#', target: '_blank', rel: 'noopener' }, t('threeDsOpen'))),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: answer('pass') }, t('threeDsPass')),
      h('button', { type: 'button', class: 'secondary', onclick: answer('fail') }, t('threeDsFail'))));
}

function resultView(payment: Payment, next: Next): void {
  const ok = payment.status === 'succeeded';
  const title = ok ? t('succeeded') : payment.status === 'declined' ? t('declined') : t('failed');
  show(title, notice(`${money(payment.amount.value, payment.amount.currency)} · ${payment.provider.name} · ${brandName(payment.card.brand)} •••• ${payment.card.last4}`, ok ? 'ok' : 'bad'),
    h('button', { type: 'button', onclick: next.go }, t(next.label)));
}

function statusText(status: string): string {
  if (status === 'declined') return t('declined');
  if (status === 'failed' || status === 'expired') return t('failed');
  return t('pending');
}

async function historyView(): Promise<void> {
  const list = await api<{ data: Payment[] }>('GET', '/v1/payments');
  if (!list.ok) return void show(t('history'), notice(problemText(list.problem), 'bad'));
  const date = new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'short', timeStyle: 'short' });
  show(t('history'), list.body.data.length === 0 ? notice(t('empty')) : h('ul', { class: 'list card' }, ...list.body.data.map((p) =>
    h('li', {}, h('span', {}, `${date.format(new Date(p.createdAt))} · ${p.provider.name} · •••• ${p.card.last4}`),
      h('strong', {}, money(p.amount.value, p.amount.currency)),
      p.status === 'succeeded' ? h('a', { href: `#/dispute/${p.id}` }, t('dispute')) : h('span', {}, statusText(p.status))))));
}

function disputeView(paymentId: string): void {
  const reasons: [string, TextKey][] = [['unauthorized', 'reasonUnauthorized'], ['lost_card', 'reasonLostCard'], ['3ds_bypassed', 'reason3ds']];
  const group = h('fieldset', {}, h('legend', {}, t('dispute')),
    ...reasons.flatMap(([value, key], i) => [h('label', {}, h('input', { type: 'radio', name: 'reason', value, checked: i === 0 }), ` ${t(key)}`), h('br')]));
  show(t('disputes'), form(t('dispute'), [group], async (status) => {
    const reason = (group.querySelector('input[name=reason]:checked') as HTMLInputElement).value;
    const done = await api('POST', '/v1/disputes', { paymentId, reason });
    status.append(done.ok ? notice(t('disputeOpened'), 'ok') : notice(problemText(done.problem), 'bad'));
  }));
}

async function cardsView(): Promise<void> {
  const list = await api<{ data: SavedCard[] }>('GET', '/v1/cards');
  if (!list.ok) return void show(t('cards'), notice(problemText(list.problem), 'bad'));
  show(t('cards'), list.body.data.length === 0 ? notice(t('empty')) : h('ul', { class: 'list card' }, ...list.body.data.map((c) =>
    h('li', {}, h('span', {}, `${brandName(c.brand)} •••• ${c.last4} · ${String(c.expMonth).padStart(2, '0')}/${c.expYear % 100}`),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `${t('remove')} •••• ${c.last4}`, onclick: async () => {
        const done = await api('DELETE', `/v1/cards/${c.id}`);
        if (done.ok) await cardsView();
        else main.append(notice(done.problem.code === 'not_found' ? t('cardGone') : problemText(done.problem), 'bad'));
      } }, t('remove'))))));
}

// ---- the hosted checkout: the merchant's amount and payee, the customer's card ----

async function checkoutView(sessionId: string): Promise<void> {
  const found = await api<CheckoutSession>('GET', `/v1/checkout/sessions/${encodeURIComponent(sessionId)}/public`);
  if (!found.ok) return void show(t('checkout'), notice(problemText(found.problem), 'bad'));
  const session = found.body;
  const summary = h('div', { class: 'card' }, h('p', {}, `${t('payee')}: `, h('strong', {}, session.merchant.name)),
    h('p', { class: 'amount' }, money(session.amount.value, session.amount.currency)));
  const back = () => location.assign(session.returnUrl);
  if (session.status !== 'open') return void show(t('checkout'), summary, notice(session.status === 'expired' ? t('expired') : t('succeeded')), h('button', { type: 'button', onclick: back }, t('back')));
  const me = await api('GET', '/v1/me');
  if (!me.ok) {
    if (me.problem.code === 'client_blocked') return blockedView();
    return loginView('', () => void checkoutView(sessionId));
  }
  const chooser = await cardChooser();
  show(t('checkout'), summary, form(t('pay'), [chooser.block], async (status) => {
    const card = chooser.choice();
    if (card === 'invalid') return;
    const started = await api<Payment>('POST', `/v1/checkout/sessions/${encodeURIComponent(sessionId)}/pay`, { card });
    if (!started.ok) return void status.append(notice(paymentProblemText(started.problem, card), 'bad'));
    codeStep(started.body, { label: 'back', go: back });
  }), session.cancelUrl ? h('p', {}, h('a', { href: session.cancelUrl }, t('cancelCheckout'))) : null);
}

// ---- routing by the URL's fragment (never card data: only view names and ids) ----

async function route(): Promise<void> {
  const view = document.body.dataset.view;
  const me = await api('GET', '/v1/me');
  if (!me.ok && me.problem.code === 'client_blocked') return blockedView();
  document.querySelector('header')?.replaceWith(header(me.ok, view === 'checkout'));
  if (view === 'checkout') return checkoutView(document.body.dataset.session ?? '');
  const [, name = '', arg = ''] = /^#\/([a-z]*)\/?(.*)$/.exec(location.hash) ?? [];
  if (name === 'register') return registerView();
  if (name === 'reset') return resetView();
  if (!me.ok) return loginView();
  if (name === 'logout') { await api('DELETE', '/v1/sessions/current'); location.hash = '#/'; return loginView(); }
  if (name === 'pay') return payView(decodeURIComponent(arg));
  if (name === 'history') return historyView();
  if (name === 'dispute') return disputeView(arg);
  if (name === 'cards') return cardsView();
  if (name === 'password') return passwordChangeView();
  return providersView();
}

window.addEventListener('hashchange', () => void route());
void route();
