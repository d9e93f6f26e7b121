// Issuer country by BIN (SP-15.1). The table is data, not code: a CSV of
//   range_start,range_end,brand,country,issuer
// where start and end are BIN prefixes of equal length (6 to 11 digits). The most specific
// (longest) matching range wins. A BIN in no range is foreign: the caller refuses it.
import { readFileSync } from 'node:fs';
import { prefixNumber } from './card-number.js';

export interface BinRange {
  start: number;
  end: number;
  digits: number;
  brand: string;
  country: string;
  issuer: string;
}

export interface BinTable {
  size: number;
  lookup(panDigits: Buffer): BinRange | undefined;
}

export class BinTableError extends Error {
  constructor(source: string, line: number, problem: string) {
    super(`BIN table ${source} line ${line}: ${problem}`);
    this.name = 'BinTableError';
  }
}

export function parseBinTable(csv: string, source = 'input'): BinTable {
  const byLength = new Map<number, BinRange[]>();
  const lines = csv.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || (index === 0 && line.startsWith('range_start'))) return;
    const fail = (problem: string) => new BinTableError(source, index + 1, problem);
    const fields = line.split(',');
    const [start, end, brand, country] = fields.slice(0, 4).map((s) => s.trim());
    const issuer = fields.slice(4).join(',').trim(); // the issuer's name may itself hold commas
    if (!start || !end || !/^\d{6,11}$/.test(start) || !/^\d{6,11}$/.test(end) || start.length !== end.length) {
      throw fail('range_start and range_end must be digit prefixes of equal length (6 to 11)');
    }
    if (Number(start) > Number(end)) throw fail('range_start is after range_end');
    if (!country || !/^[A-Z]{2}$/.test(country)) throw fail('country must be an ISO 3166 alpha-2 code');
    const ranges = byLength.get(start.length) ?? [];
    ranges.push({ start: Number(start), end: Number(end), digits: start.length, brand: brand ?? '', country, issuer });
    byLength.set(start.length, ranges);
  });
  for (const [digits, ranges] of byLength) {
    ranges.sort((a, b) => a.start - b.start);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]!.start <= ranges[i - 1]!.end) {
        throw new BinTableError(source, 0, `overlapping ${digits}-digit ranges at ${ranges[i]!.start}`);
      }
    }
  }
  const lengths = [...byLength.keys()].sort((a, b) => b - a);
  return {
    size: [...byLength.values()].reduce((n, r) => n + r.length, 0),
    lookup(panDigits) {
      for (const digits of lengths) {
        if (panDigits.length < digits) continue;
        const prefix = prefixNumber(panDigits, digits);
        const ranges = byLength.get(digits)!;
        let lo = 0;
        let hi = ranges.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const r = ranges[mid]!;
          if (prefix < r.start) hi = mid - 1;
          else if (prefix > r.end) lo = mid + 1;
          else return r;
        }
      }
      return undefined;
    },
  };
}

export function loadBinTable(path: string): BinTable {
  return parseBinTable(readFileSync(path, 'utf8'), path);
}
