// Fresh Luhn-valid card numbers for tests and benchmarks: a BIN from the shipped ranges, random
// digits, the check digit. The sandbox's special test cards (all zeros after the BIN) are skipped
// so a random card always behaves as a plain approved card.
import { randomInt } from 'node:crypto';

export function randomCard(bin = '440043'): string {
  let body = bin;
  while (body.length < 15) body += String(randomInt(10));
  if (/^0+$/.test(body.slice(bin.length))) return randomCard(bin);
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let d = Number(body[14 - i]);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}
