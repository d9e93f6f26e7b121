// SP-15.1: issuer country comes from the BIN table shipped as data; the most specific range wins,
// an unknown BIN finds nothing (and is refused as foreign by the caller), a bad file is refused.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadBinTable, parseBinTable } from '../src/bin-table.js';

const digits = (s: string) => Buffer.from(s);

t.test('SP-15.1: the shipped table holds the sandbox ranges of the design', async (t) => {
  const table = loadBinTable(fileURLToPath(new URL('../data/bin-ranges.csv', import.meta.url)));
  t.equal(table.lookup(digits('4400430000000007'))?.country, 'KZ');
  t.equal(table.lookup(digits('5395450000000017'))?.country, 'KZ');
  t.equal(table.lookup(digits('4000000000000002'))?.country, 'US');
  t.equal(table.lookup(digits('5555555555554444'))?.country, 'US');
  t.equal(table.lookup(digits('4111111111111111')), undefined, 'a BIN in no range');
});

t.test('longest range wins; ranges of 6 to 11 digits', async (t) => {
  const table = parseBinTable([
    'range_start,range_end,brand,country,issuer',
    '400000,499999,visa,US,Broad',
    '44004300,44004399,visa,KZ,Narrow, with a comma',
    '40000000000,40000000009,visa,DE,Very narrow',
  ].join('\n'));
  t.equal(table.size, 3);
  t.match(table.lookup(digits('4400430100000000')), { country: 'KZ', issuer: 'Narrow, with a comma' });
  t.equal(table.lookup(digits('4400440000000000'))?.country, 'US');
  t.equal(table.lookup(digits('4000000000500000'))?.country, 'DE');
  t.equal(table.lookup(digits('3000000000000000')), undefined);
});

t.test('a malformed table is refused with its line number', async (t) => {
  t.throws(() => parseBinTable('440043,44004,visa,KZ,x'), /line 1: .*equal length/);
  t.throws(() => parseBinTable('440050,440043,visa,KZ,x'), /after range_end/);
  t.throws(() => parseBinTable('440043,440043,visa,Kazakhstan,x'), /alpha-2/);
  t.throws(() => parseBinTable('440000,440099,visa,KZ,a\n440050,440150,visa,KZ,b'), /overlapping/);
});
