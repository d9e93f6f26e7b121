// Pure card checks (no I/O): digits, length, Luhn, brand by IIN range, expiry, CVV format.
// Card data stays in Buffers of ASCII digits so the caller can zero them after use; only the
// BIN (first 6) and last 4 become strings, which PCI DSS 3.4.1 allows to be shown.

export const BRANDS = ['visa', 'mastercard', 'amex', 'unionpay', 'mir'] as const;
export type Brand = (typeof BRANDS)[number];

interface BrandRule {
  brand: Brand;
  lengths: readonly number[];
  cvvLength: number;
  /** Inclusive IIN ranges over the first `digits` digits. */
  ranges: ReadonlyArray<{ digits: number; from: number; to: number }>;
}

// Scheme IIN ranges. Visa and Mastercard are always on; the others only when configured
// (VAULT_CARD_BRANDS), since SP-14 names Visa and Mastercard.
const RULES: readonly BrandRule[] = [
  { brand: 'visa', lengths: [13, 16, 19], cvvLength: 3, ranges: [{ digits: 1, from: 4, to: 4 }] },
  {
    brand: 'mastercard', lengths: [16], cvvLength: 3,
    ranges: [{ digits: 2, from: 51, to: 55 }, { digits: 4, from: 2221, to: 2720 }],
  },
  { brand: 'amex', lengths: [15], cvvLength: 4, ranges: [{ digits: 2, from: 34, to: 34 }, { digits: 2, from: 37, to: 37 }] },
  { brand: 'mir', lengths: [16, 17, 18, 19], cvvLength: 3, ranges: [{ digits: 4, from: 2200, to: 2204 }] },
  { brand: 'unionpay', lengths: [16, 17, 18, 19], cvvLength: 3, ranges: [{ digits: 2, from: 62, to: 62 }] },
];

export type CardRefusal = { ok: false; code: 'card_invalid' | 'card_expired'; reason: string };

export interface CheckedCard {
  ok: true;
  pan: Buffer;
  brand: Brand;
  bin6: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

const ZERO = 0x30;

/** Leading `n` digits of an ASCII-digit buffer as a number. */
export function prefixNumber(digits: Buffer, n: number): number {
  let value = 0;
  for (let i = 0; i < n; i++) value = value * 10 + (digits[i]! - ZERO);
  return value;
}

/** Digits of `input` after removing spaces and dashes, or undefined if anything else is there. */
export function normalisePan(input: string): Buffer | undefined {
  const out = Buffer.alloc(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x20 || c === 0x2d) continue;
    if (c < ZERO || c > ZERO + 9) {
      out.fill(0);
      return undefined;
    }
    out[n++] = c;
  }
  const digits = Buffer.from(out.subarray(0, n));
  out.fill(0);
  return digits;
}

export function luhnValid(digits: Buffer): boolean {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits[i]! - ZERO;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function brandOf(digits: Buffer): BrandRule | undefined {
  return RULES.find((rule) => rule.ranges.some((r) => {
    const p = prefixNumber(digits, r.digits);
    return p >= r.from && p <= r.to;
  }));
}

/** Year and month now in Kazakhstan; a card is valid through the last day of its expiry month. */
// Built once: constructing an Intl formatter costs far more than using one.
const ALMATY_MONTH = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Almaty', year: 'numeric', month: 'numeric' });

let cached: { minute: number; value: { year: number; month: number } } | undefined;

export function currentMonth(now: Date): { year: number; month: number } {
  // Months change on minute boundaries in every time zone: one lookup per minute is enough.
  const minute = Math.floor(now.getTime() / 60_000);
  if (cached?.minute === minute) return cached.value;
  const parts = ALMATY_MONTH.formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  cached = { minute, value: { year: get('year'), month: get('month') } };
  return cached.value;
}

/** The CVV's format for the brand; a Buffer of ASCII digits is checked without copying it into a string. */
export function cvvValid(cvv: string | Buffer, brand: Brand): boolean {
  const rule = RULES.find((r) => r.brand === brand)!;
  if (cvv.length !== rule.cvvLength) return false;
  return typeof cvv === 'string' ? /^\d+$/.test(cvv) : cvv.every((c) => c >= ZERO && c <= ZERO + 9);
}

export interface CardInput {
  pan: string;
  expMonth: number;
  expYear: number;
  cvv?: string;
}

/** Checks a card; on success the caller owns (and must zero) `pan`. */
export function checkCard(input: CardInput, enabledBrands: ReadonlySet<Brand>, now: Date): CheckedCard | CardRefusal {
  const refuse = (code: CardRefusal['code'], reason: string): CardRefusal => ({ ok: false, code, reason });
  const pan = normalisePan(input.pan);
  if (!pan) return refuse('card_invalid', 'the card number may contain only digits, spaces and dashes');
  const fail = (code: CardRefusal['code'], reason: string) => {
    pan.fill(0);
    return refuse(code, reason);
  };
  if (pan.length < 13 || pan.length > 19) return fail('card_invalid', 'the card number must have 13 to 19 digits');
  if (!luhnValid(pan)) return fail('card_invalid', 'the card number fails its check digit');
  const rule = brandOf(pan);
  if (!rule || !enabledBrands.has(rule.brand)) return fail('card_invalid', 'the card brand is not accepted');
  if (!rule.lengths.includes(pan.length)) return fail('card_invalid', `a ${rule.brand} card number has ${rule.lengths.join(' or ')} digits`);
  const expYear = input.expYear < 100 ? 2000 + input.expYear : input.expYear;
  if (!Number.isInteger(input.expMonth) || input.expMonth < 1 || input.expMonth > 12) return fail('card_invalid', 'the expiry month must be 1 to 12');
  const { year, month } = currentMonth(now);
  if (expYear * 12 + input.expMonth < year * 12 + month) return fail('card_expired', 'the card has expired');
  if (expYear > year + 20) return fail('card_invalid', 'the expiry year is too far in the future');
  if (input.cvv !== undefined && !cvvValid(input.cvv, rule.brand)) {
    return fail('card_invalid', `the security code must be ${rule.cvvLength} digits`);
  }
  const last4 = pan.subarray(pan.length - 4).toString('latin1');
  return { ok: true, pan, brand: rule.brand, bin6: pan.subarray(0, 6).toString('latin1'), last4, expMonth: input.expMonth, expYear };
}

/** True when the card's expiry month is over (checked again at authorization). */
export function isExpired(expMonth: number, expYear: number, now: Date): boolean {
  const { year, month } = currentMonth(now);
  return expYear * 12 + expMonth < year * 12 + month;
}
