// Issue 16: the pages' texts (gateway/web/i18n.ts) complete in Kazakh, Russian and English, with no
// text of another language, and a translation for every problem code a person can act on that the
// person-facing API (gateway/openapi/openapi.json) can answer, so no page shows an untranslated
// key or the API's English detail.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../../../lib/paths.js';
import { LANGS, LOCALES, PROBLEMS, TEXTS } from '../../web/i18n.js';

// Words every language writes the same way: names, the card code, the SMS and 3-D Secure brands.
const SHARED_WORDS = /\b(SMS|CVV|3-D Secure|MM\/YY|Kcell)\b|₸|\+7 700 123 45 67/g;
const CYRILLIC = /[\u0400-\u04ff]/;
const LATIN = /[A-Za-z]/;
const KAZAKH_ONLY = /[әғқңөұүһіӘҒҚҢӨҰҮҺІ]/;

// Codes a person cannot act on (a fault of the page or the service) or that the page answers with
// a view of its own (login, the blocked page, the CVV step, a saved card gone): these read as the
// generic message or their view, never as the API's detail.
const NOT_SHOWN_AS_THEMSELVES = new Set([
  'validation_failed', 'host_not_allowed', 'internal_error', 'idempotency_conflict', 'unauthorized', 'client_blocked',
  'not_found', 'conflict', 'currency_not_supported', 'provider_unknown', 'refund_not_allowed',
]);

t.test('every language has every text, none empty', async (t) => {
  const keys = Object.keys(TEXTS.kk).sort();
  for (const l of LANGS) {
    t.same(Object.keys(TEXTS[l]).sort(), keys, `${l}: the same keys as Kazakh`);
    t.same(Object.entries(TEXTS[l]).filter(([, v]) => v.trim() === '' || v !== v.trim()).map(([k]) => k), [], `${l}: no empty or padded text`);
  }
});

t.test('every language has every problem message, none empty', async (t) => {
  const codes = Object.keys(PROBLEMS.en).sort();
  for (const l of LANGS) {
    t.same(Object.keys(PROBLEMS[l]).sort(), codes, `${l}: the same problem codes as English`);
    t.same(Object.entries(PROBLEMS[l]).filter(([, v]) => v.trim() === '').map(([k]) => k), [], `${l}: no empty message`);
  }
});

t.test('no text of another language: Kazakh and Russian in Cyrillic, English in Latin, Kazakh not copied from Russian', async (t) => {
  for (const l of LANGS) {
    const all = [...Object.entries(TEXTS[l]), ...Object.entries(PROBLEMS[l])].map(([k, v]) => [k, v.replace(SHARED_WORDS, '')] as const);
    const foreign = l === 'en' ? CYRILLIC : LATIN;
    t.same(all.filter(([, v]) => foreign.test(v)).map(([k]) => k), [], `${l}: no ${l === 'en' ? 'Cyrillic' : 'Latin'} letters`);
  }
  const ru = new Map([...Object.entries(TEXTS.ru), ...Object.entries(PROBLEMS.ru)]);
  const copied = [...Object.entries(TEXTS.kk), ...Object.entries(PROBLEMS.kk)]
    .filter(([k, v]) => v === ru.get(k) && v.replace(SHARED_WORDS, '').trim().length > 0 && !['card', 'phoneHint'].includes(k))
    .map(([k]) => k);
  t.same(copied, [], 'no Kazakh text is the Russian one (only "Карта", the same word in both, is)');
  const kazakhLetters = Object.values(TEXTS.kk).filter((v) => KAZAKH_ONLY.test(v)).length;
  t.ok(kazakhLetters > Object.keys(TEXTS.kk).length / 2, `most Kazakh texts use letters Russian lacks (${kazakhLetters})`);
  t.same(Object.entries(TEXTS.ru).filter(([, v]) => KAZAKH_ONLY.test(v)).map(([k]) => k), [], 'no Kazakh letters in Russian');
});

t.test('every problem code the person-facing API can answer reads in the page\'s language', async (t) => {
  const spec = JSON.parse(readFileSync(join(repoRoot, 'gateway', 'openapi', 'openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { responses?: Record<string, { 'x-error-codes'?: string[] }> }>>;
  };
  const codes = new Set<string>();
  for (const operations of Object.values(spec.paths)) {
    for (const operation of Object.values(operations)) {
      const answered = Object.values(operation.responses ?? {}).flatMap((r) => r['x-error-codes'] ?? []);
      // Operations a secret key calls are the merchant's server's, not a person's page.
      if (answered.some((c) => c.startsWith('api_key_'))) continue;
      for (const c of answered) codes.add(c);
    }
  }
  t.ok(codes.has('cvv_required') && codes.has('card_limit_reached'), 'the spec\'s person-facing codes were read');
  for (const l of LANGS) {
    t.same([...codes].filter((c) => !(c in PROBLEMS[l]) && !NOT_SHOWN_AS_THEMSELVES.has(c)).sort(), [], `${l}: every code translated`);
  }
});

t.test('amounts are tenge with each language\'s grouping', async (t) => {
  const money = (l: (typeof LANGS)[number]) => new Intl.NumberFormat(LOCALES[l], { style: 'currency', currency: 'KZT', currencyDisplay: 'narrowSymbol' }).format(1_234_567.5);
  t.match(money('kk'), /^1[\s\u00a0\u202f]234[\s\u00a0\u202f]567,50[\s\u00a0\u202f]₸$/);
  t.match(money('ru'), /^1[\s\u00a0\u202f]234[\s\u00a0\u202f]567,50[\s\u00a0\u202f]₸$/);
  t.equal(money('en'), '₸1,234,567.50');
});
