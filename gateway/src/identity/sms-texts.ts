// The SMS texts in the client's language (Kazakh, the bank's default, Russian, English): the
// language is chosen at phone verification from the page's language and kept with the client
// (PATCH /v1/me changes it). Each text starts with its code, the only 6-digit number in it; a
// payment's text also names the amount, the payee and the card's last 4 (SP-15.2). Amounts are
// grouped per language by ICU with plain spaces (an SMS gateway may not carry U+00A0 / U+202F).
export const SMS_LANGUAGES = ['kk', 'ru', 'en'] as const;
export type SmsLanguage = (typeof SMS_LANGUAGES)[number];
export const DEFAULT_SMS_LANGUAGE: SmsLanguage = 'kk';

const LOCALES: Record<SmsLanguage, string> = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };

export type SmsPurpose = 'verification' | 'password_reset' | 'password_change';

const CODE_TEXTS: Record<SmsLanguage, Record<SmsPurpose, (code: string, minutes: number) => string>> = {
  kk: {
    verification: (c, m) => `${c} — онлайн-банк үшін телефонды растау коды. ${m} минут жарамды. Ешкімге айтпаңыз.`,
    password_reset: (c, m) => `${c} — онлайн-банк ҚҰПИЯСӨЗІН ҚАЛПЫНА КЕЛТІРУ коды. ${m} минут жарамды. Ешкімге айтпаңыз.`,
    password_change: (c, m) => `${c} — ҚҰПИЯСӨЗДІ ӨЗГЕРТУ коды. ${m} минут жарамды. Сіз сұрамасаңыз, банкке хабарласыңыз.`,
  },
  ru: {
    verification: (c, m) => `${c} — код подтверждения телефона для онлайн-банка. Действует ${m} минут. Никому не сообщайте.`,
    password_reset: (c, m) => `${c} — код ВОССТАНОВЛЕНИЯ ПАРОЛЯ онлайн-банка. Действует ${m} минут. Никому не сообщайте.`,
    password_change: (c, m) => `${c} — код СМЕНЫ ПАРОЛЯ. Действует ${m} минут. Если вы не запрашивали его, позвоните в банк.`,
  },
  en: {
    verification: (c, m) => `${c} is your code to verify this phone for online banking. Valid ${m} minutes. Never share it.`,
    password_reset: (c, m) => `${c} is your code to RESET YOUR PASSWORD for online banking. Valid ${m} minutes. Never share it.`,
    password_change: (c, m) => `${c} is your code to CHANGE YOUR PASSWORD. Valid ${m} minutes. If you did not ask for it, call the bank.`,
  },
};

const PAYMENT_TEXTS: Record<SmsLanguage, (code: string, amount: string, payee: string, last4: string, minutes: number) => string> = {
  kk: (c, a, p, l, m) => `${c} — ${p} алушысына ${a} төлеу коды, карта *${l}. ${m} минут жарамды. Ешкімге, тіпті банкке де айтпаңыз.`,
  ru: (c, a, p, l, m) => `${c} — код оплаты ${a} получателю ${p} картой *${l}. Действует ${m} минут. Никому не сообщайте, даже банку.`,
  en: (c, a, p, l, m) => `${c} is your code to pay ${a} to ${p} with card *${l}. Valid ${m} minutes. Never share it, not even with the bank.`,
};

export function codeSms(language: SmsLanguage, purpose: SmsPurpose, code: string, validMinutes: number): string {
  return CODE_TEXTS[language][purpose](code, validMinutes);
}

/** An amount in minor units as the language writes it (1 234 567,50 ₸ / ₸1,234,567.50). */
export function smsAmount(language: SmsLanguage, minor: number, currency: string): string {
  const format = new Intl.NumberFormat(LOCALES[language], { style: 'currency', currency, currencyDisplay: 'narrowSymbol' });
  return format.format(minor / 100).replace(/[\u00a0\u202f]/g, ' ');
}

export function paymentSmsText(language: SmsLanguage, code: string, amount: { value: number; currency: string }, payee: string, last4: string, validMinutes: number): string {
  return PAYMENT_TEXTS[language](code, smsAmount(language, amount.value, amount.currency), payee, last4, validMinutes);
}
