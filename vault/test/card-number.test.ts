// SP-14, SP-15: the pure card checks — digits, length, Luhn, brand by IIN, expiry at the end of
// the month in Kazakhstan time, CVV length per brand.
import t from 'tap';
import { brandOf, checkCard, currentMonth, luhnValid, normalisePan, type Brand } from '../src/card-number.js';

const visaMc: ReadonlySet<Brand> = new Set(['visa', 'mastercard']);
const now = new Date('2026-11-24T10:00:00Z');
const check = (pan: string, extra: Partial<{ expMonth: number; expYear: number; cvv: string }> = {}, brands = visaMc, at = now) =>
  checkCard({ pan, expMonth: 12, expYear: 2030, ...extra }, brands, at);

t.test('normalising strips spaces and dashes and refuses anything else', async (t) => {
  t.equal(normalisePan('4400 4300-0000 0007')?.toString(), '4400430000000007');
  t.equal(normalisePan('4400a30000000007'), undefined);
  t.equal(normalisePan('４４００４３００００００００07'), undefined, 'full-width digits are not digits here');
});

t.test('Luhn', async (t) => {
  t.ok(luhnValid(Buffer.from('4400430000000007')));
  t.ok(luhnValid(Buffer.from('5395450000000017')));
  t.notOk(luhnValid(Buffer.from('4400430000000008')));
});

t.test('brands by IIN range, including Mastercard 2221–2720', async (t) => {
  t.equal(brandOf(Buffer.from('4111111111111111'))?.brand, 'visa');
  t.equal(brandOf(Buffer.from('5105105105105100'))?.brand, 'mastercard');
  t.equal(brandOf(Buffer.from('2221000000000009'))?.brand, 'mastercard');
  t.equal(brandOf(Buffer.from('2720990000000007'))?.brand, 'mastercard');
  t.equal(brandOf(Buffer.from('2721000000000004'))?.brand, undefined, 'just past the 2-series range');
  t.equal(brandOf(Buffer.from('378282246310005'))?.brand, 'amex');
});

t.test('each refusal has its code', async (t) => {
  t.match(check('4400 4300 0000 0007'), { ok: true, brand: 'visa', bin6: '440043', last4: '0007' });
  t.match(check('4400430000000008'), { ok: false, code: 'card_invalid', reason: /check digit/ });
  t.match(check('440043000007'), { ok: false, code: 'card_invalid', reason: /13 to 19/ });
  t.match(check('44004300000000000000'), { ok: false, code: 'card_invalid', reason: /13 to 19/ });
  t.match(check('4400x30000000007'), { ok: false, code: 'card_invalid', reason: /only digits/ });
  t.match(check('2221000000000009'), { ok: true, brand: 'mastercard' });
  t.match(check('5395450000000017', { cvv: '12' }), { ok: false, code: 'card_invalid', reason: /3 digits/ });
  t.match(check('5395450000000017', { cvv: '12a' }), { ok: false, code: 'card_invalid' });
  t.match(check('4400430000000007', { expMonth: 13 }), { ok: false, code: 'card_invalid', reason: /month/ });
  t.match(check('4400430000000007', { expYear: 2060 }), { ok: false, code: 'card_invalid', reason: /too far/ });
});

t.test('Amex and other brands only when configured; Amex CVV has 4 digits', async (t) => {
  t.match(check('378282246310005'), { ok: false, code: 'card_invalid', reason: /brand/ });
  const withAmex: ReadonlySet<Brand> = new Set(['visa', 'mastercard', 'amex']);
  t.match(check('378282246310005', { cvv: '1234' }, withAmex), { ok: true, brand: 'amex' });
  t.match(check('378282246310005', { cvv: '123' }, withAmex), { ok: false, code: 'card_invalid', reason: /4 digits/ });
});

t.test('a card is valid through the end of its expiry month in Kazakhstan (UTC+5)', async (t) => {
  t.match(check('4400430000000007', { expMonth: 11, expYear: 2026 }), { ok: true }, 'the current month is still valid');
  t.match(check('4400430000000007', { expMonth: 11, expYear: 26 }), { ok: true, expYear: 2026 }, 'two-digit years');
  t.match(check('4400430000000007', { expMonth: 10, expYear: 2026 }), { ok: false, code: 'card_expired' });
  const lastMoment = new Date('2026-11-30T18:59:59Z'); // 23:59:59 on 30 November in Almaty
  const nextMonth = new Date('2026-11-30T19:00:00Z');  // 00:00 on 1 December in Almaty
  t.same(currentMonth(lastMoment), { year: 2026, month: 11 });
  t.match(check('4400430000000007', { expMonth: 11, expYear: 2026 }, visaMc, lastMoment), { ok: true });
  t.match(check('4400430000000007', { expMonth: 11, expYear: 2026 }, visaMc, nextMonth), { ok: false, code: 'card_expired' });
});
