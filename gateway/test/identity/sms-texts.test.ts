// Issue 16: every SMS text in Kazakh, Russian and English holds one 6-digit number, its code;
// a payment's text also names the amount (grouped as the language writes it), payee and last 4.
import t from 'tap';
import { codeSms, paymentSmsText, smsAmount, SMS_LANGUAGES, type SmsPurpose } from '../../src/identity/sms-texts.js';

const sixDigitRuns = (text: string) => text.match(/\d{6,}/g) ?? [];
const PURPOSES: SmsPurpose[] = ['verification', 'password_reset', 'password_change'];

for (const language of SMS_LANGUAGES) {
  t.test(`${language}: code SMS holds its code and no other 6-digit number (SP-5.1, SP-10)`, async (t) => {
    for (const purpose of PURPOSES) {
      const text = codeSms(language, purpose, '042917', 5);
      t.same(sixDigitRuns(text), ['042917'], purpose);
      t.ok(text.startsWith('042917'), `${purpose}: the code comes first`);
    }
  });

  t.test(`${language}: payment SMS names amount, payee and last 4 beside its one code (SP-15.2)`, async (t) => {
    // 12 345 678,90 tenge: a large amount must not read as a second code.
    const amount = { value: 1_234_567_890, currency: 'KZT' };
    const text = paymentSmsText(language, '555123', amount, 'Kcell', '4242', 15);
    t.same(sixDigitRuns(text), ['555123']);
    t.ok(text.includes(smsAmount(language, amount.value, amount.currency)), 'amount');
    t.ok(text.includes('Kcell'), 'payee');
    t.ok(text.includes('*4242'), 'last 4');
    t.notMatch(text, /[\u00a0\u202f]/, 'plain spaces only');
  });
}

t.test('the three languages differ, and amounts are grouped per language', async (t) => {
  const texts = SMS_LANGUAGES.map((l) => codeSms(l, 'verification', '123456', 5));
  t.equal(new Set(texts).size, 3);
  t.equal(smsAmount('kk', 150_000, 'KZT'), '1 500,00 ₸');
  t.equal(smsAmount('ru', 1_234_567_850, 'KZT'), '12 345 678,50 ₸');
  t.equal(smsAmount('en', 1_234_567_850, 'KZT'), '₸12,345,678.50');
});
