// bench/results.ts: the JSON → chart and table writers, from a fixed results object (no timing).
import t from 'tap';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { assemble, formatTable, renderSvg } from '../results.js';

const figures = (rps: number, latency: boolean) => ({
  rps, p50: latency ? rps / 1000 : null, p95: latency ? rps / 500 : null, p99: latency ? rps / 100 : null, ok: 100, errors: 0,
  cpuMsPerOp: (latency ? { server: 1000 / rps } : {}) as Record<string, number>,
});
const results = assemble([
  { baselines: [{ id: 'bare-https', name: 'bare <HTTPS> & "echo"', ...figures(40_000, true) }],
    scenarios: [{ name: 'payments: saved card', unit: 'payment', baseline: 'bare-https', ...figures(300, true) },
      { name: 'reads ×2', unit: 'request pair', baseline: 'bare-https', ...figures(650, true) }] },
  { baselines: [{ id: 'bullmq-alone', name: 'BullMQ alone', ...figures(5000, false) }],
    scenarios: [{ name: 'audit pipeline', unit: 'event', baseline: 'bullmq-alone', ...figures(8000, false) }] },
], { date: '2026-12-06T22:00:00.000Z', host: { cpus: 2, model: 'test cpu', loadavg: [1, 2, 3], node: 'v20' }, seconds: 3 });

t.test('each scenario gets its ratio to the baseline it names', async (t) => {
  t.equal(results.scenarios[0]!.ratio.rps, 300 / 40_000);
  t.equal(results.scenarios[0]!.ratio.cpu, (1000 / 300) / (1000 / 40_000));
  t.equal(results.scenarios[2]!.ratio.rps, 8000 / 5000);
  t.equal(results.scenarios[2]!.ratio.cpu, null, 'no CPU measured: no CPU ratio');
  t.throws(() => assemble([{ baselines: [], scenarios: [{ name: 'x', unit: 'request', baseline: 'missing', ...figures(1, true) }] }], results),
    /no bench measured/);
});

t.test('the SVG is well-formed XML with one throughput bar per row and a latency bar where latency was measured', async (t) => {
  const svg = renderSvg(results);
  t.equal(XMLValidator.validate(svg), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg);
  const rects = ([] as Array<Record<string, string>>).concat(doc.svg.rect);
  t.equal(rects.filter((r) => r.class === 'rps').length, 5, 'two baselines + three scenarios');
  t.equal(rects.filter((r) => r.class === 'p99').length, 3);
  const width = (i: number) => Number(rects.filter((r) => r.class === 'rps')[i]!.width);
  // Rows: the baselines (40,000, 5,000), then the scenarios (300, 650, 8,000).
  t.ok(width(0) > width(4) && width(4) > width(1) && width(1) > width(3) && width(3) > width(2), 'bars grow with the rate');
  t.match(svg, /bare &lt;HTTPS&gt; &amp; &quot;echo&quot;/, 'names are escaped');
});

t.test('the table prints every row with its ratio', async (t) => {
  const table = formatTable(results);
  t.equal(table.split('\n').length, 1 + 5);
  t.match(table, /audit pipeline .* ×1\.600 of bullmq-alone rate/);
});
