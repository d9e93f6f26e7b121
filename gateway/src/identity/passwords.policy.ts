// SP-7 password rules, server-side, one error code per failed criterion: at least 7 characters,
// not digits only (a letter or special character is required). On top, as a bank expects
// (NIST 800-63B): at most 128 characters, not on the shipped common-password list, not the
// login phone's digits. Passwords are NFKC-normalised first so look-alike forms hash alike.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../lib/paths.js';
import { DomainError } from '../errors.js';

export const MIN_PASSWORD_LENGTH = 7;
export const MAX_PASSWORD_LENGTH = 128;

export type PasswordProblem =
  | 'password_too_short' | 'password_too_long' | 'password_digits_only' | 'password_too_common' | 'password_contains_phone';

const COMMON: ReadonlySet<string> = new Set(
  readFileSync(join(repoRoot, 'gateway', 'data', 'common-passwords.txt'), 'utf8')
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')),
);

export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Every criterion the password fails, in the order the client should fix them. */
export function passwordProblems(password: string, phone?: string): PasswordProblem[] {
  const p = normalisePassword(password);
  const length = [...p].length;
  const problems: PasswordProblem[] = [];
  if (length < MIN_PASSWORD_LENGTH) problems.push('password_too_short');
  if (length > MAX_PASSWORD_LENGTH) problems.push('password_too_long');
  if (/^\p{Nd}*$/u.test(p)) problems.push('password_digits_only');
  if (COMMON.has(p.toLowerCase())) problems.push('password_too_common');
  if (phone) {
    const national = phone.slice(2); // 10 digits after +7
    if (p.includes(national) || p.includes(national.slice(3))) problems.push('password_contains_phone');
  }
  return problems;
}

const MESSAGES: Record<PasswordProblem, string> = {
  password_too_short: `the password needs at least ${MIN_PASSWORD_LENGTH} characters`,
  password_too_long: `the password may have at most ${MAX_PASSWORD_LENGTH} characters`,
  password_digits_only: 'the password needs at least one letter or special character, not only digits',
  password_too_common: 'the password is too common; choose another',
  password_contains_phone: 'the password must not contain your phone number',
};

/** Throws the first failed criterion's code; the detail names every failed criterion. */
export function assertPasswordPolicy(password: string, phone?: string): void {
  const problems = passwordProblems(password, phone);
  if (problems.length > 0) {
    throw new DomainError(problems[0]!, problems.map((p) => MESSAGES[p]).join('; '));
  }
}
