// SP-6: the phone number is the login. Accepts the written forms Kazakh users type for a
// mobile number and returns E.164 (+7 + 10 digits); anything else, including landlines and
// Russian (+7 9xx) numbers, is refused, which also keeps SMS pumping to KZ mobile ranges.

// Kazakhstan mobile operator codes (the three digits after +7): Kcell/activ, Beeline, Tele2/Altel.
export const KZ_MOBILE_PREFIXES: ReadonlySet<string> = new Set([
  '700', '701', '702', '705', '706', '707', '708', '747', '771', '775', '776', '777', '778',
]);

/** E.164 form of a KZ mobile number, or null when `input` is not one. */
export function normalisePhone(input: string): string | null {
  if (input.length > 32) return null;
  const compact = input.trim().replace(/[\s\-().\u00a0]/g, '');
  let national: string;
  if (/^\+7\d{10}$/.test(compact)) national = compact.slice(2);
  else if (/^[78]\d{10}$/.test(compact)) national = compact.slice(1);
  else return null;
  return KZ_MOBILE_PREFIXES.has(national.slice(0, 3)) ? `+7${national}` : null;
}

/** The number prefix (+7 and 5 digits: operator + block) that SMS caps count per hour. */
export function phonePrefix(e164: string): string {
  return e164.slice(0, 7);
}

/** Masked for messages a third party might see: +7 701 *** ** 67. */
export function maskPhone(e164: string): string {
  return `+7 ${e164.slice(2, 5)} *** ** ${e164.slice(-2)}`;
}
