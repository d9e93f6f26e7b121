// The payment form's card helpers: the expiry as people type it on kk/ru/en pages (with or without
// the slash), and the brand's name as printed on the card rather than the vault's lower-case id.
import t from 'tap';
import { brandName, parseExpiry } from '../../web/card.js';

t.test('the expiry reads with or without the slash, two- or four-digit year', async (t) => {
  for (const text of ['12/30', '12/2030', ' 12 / 30 ', '1230', '122030']) t.same(parseExpiry(text), { month: 12, year: 2030 }, text);
  t.same(parseExpiry('3/27'), { month: 3, year: 2027 }, 'a one-digit month with the slash');
  t.same(parseExpiry('0327'), { month: 3, year: 2027 }, 'a leading zero without the slash');
});

t.test('an expiry that is not one is refused, and nothing ambiguous is guessed', async (t) => {
  for (const text of ['', '13/30', '00/30', '12/3', '12030', '1/2030x', 'АА/ЖЖ', 'MM/YY', '12-30']) t.equal(parseExpiry(text), undefined, JSON.stringify(text));
});

t.test('brands show by their proper names; an id the map lacks shows as the vault gave it', async (t) => {
  t.same(['visa', 'mastercard', 'amex', 'mir', 'unionpay'].map(brandName), ['Visa', 'Mastercard', 'American Express', 'Mir', 'UnionPay']);
  t.equal(brandName('jcb'), 'jcb');
});
