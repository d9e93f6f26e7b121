// Card number helpers for the payment form: the number is grouped as typed and checked with
// Luhn only as a hint (the vault decides). Nothing here stores or sends a number anywhere.
export function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

export function groupCardNumber(text: string): string {
  return digitsOf(text).slice(0, 19).replace(/(\d{4})(?=\d)/g, '$1 ');
}

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * "MM/YY" or "MM/YYYY", or the same digits without the slash ("1230", "122030") → month and
 * four-digit year, or undefined. Without the slash the month takes two digits, so "12030" is not
 * guessed at.
 */
export function parseExpiry(text: string): { month: number; year: number } | undefined {
  const m = /^\s*(?:(\d{1,2})\s*\/\s*|(\d{2}))(\d{2}|\d{4})\s*$/.exec(text);
  if (!m) return undefined;
  const month = Number(m[1] ?? m[2]);
  const year = m[3]!.length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
  return month >= 1 && month <= 12 ? { month, year } : undefined;
}

// The vault names brands by lower-case id; people know them by the name on the card.
const BRAND_NAMES: Record<string, string> = {
  visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', mir: 'Mir', unionpay: 'UnionPay',
};

export function brandName(brand: string): string {
  return BRAND_NAMES[brand] ?? brand;
}
