// What `npm run bench` keeps: bench/results.json (every figure, machine-readable) and
// bench/results.svg (throughput and latency per scenario, drawn from the JSON alone), and the
// table it prints. Pure functions of a results object, so the chart can be tested without a run.
import { totalCpuMs, type Figures } from './measure.js';

/** A reference measured in the same run: what the transport alone (or BullMQ alone) achieves. */
export interface Baseline extends Figures {
  id: string;
  name: string;
}

export interface Scenario extends Figures {
  name: string;
  /** What one iteration is: "payment", "request", "event"… */
  unit: string;
  /** The id of the same-run baseline it is compared with. */
  baseline: string;
}

/** What one bench module returns. */
export interface BenchPart {
  baselines: Baseline[];
  scenarios: Scenario[];
}

export interface Ratio {
  /** Scenario rate / baseline rate. */
  rps: number;
  /** Scenario CPU per iteration (all its processes) / baseline CPU per iteration; null where either is unmeasured. */
  cpu: number | null;
}

export interface BenchResults {
  date: string;
  host: { cpus: number; model: string; loadavg: number[]; node: string };
  seconds: number;
  baselines: Baseline[];
  scenarios: Array<Scenario & { ratio: Ratio }>;
}

export function ratioTo(s: Figures, b: Figures): Ratio {
  const cpu = totalCpuMs(s) > 0 && totalCpuMs(b) > 0 ? totalCpuMs(s) / totalCpuMs(b) : null;
  return { rps: b.rps > 0 ? s.rps / b.rps : 0, cpu };
}

export function assemble(parts: readonly BenchPart[], meta: Omit<BenchResults, 'baselines' | 'scenarios'>): BenchResults {
  const baselines = parts.flatMap((p) => p.baselines);
  const byId = new Map(baselines.map((b) => [b.id, b]));
  const scenarios = parts.flatMap((p) => p.scenarios).map((s) => {
    const b = byId.get(s.baseline);
    if (!b) throw new Error(`scenario "${s.name}" names baseline "${s.baseline}", which no bench measured`);
    return { ...s, ratio: ratioTo(s, b) };
  });
  return { ...meta, baselines, scenarios };
}

const ms = (v: number | null) => (v === null ? '     –' : v.toFixed(1).padStart(6));

/** One line per baseline and scenario: rate, latency, errors, CPU per process, ratio. */
export function formatTable(r: BenchResults): string {
  const row = (name: string, f: Figures, tail: string) => `${name.padEnd(58)} ${f.rps.toFixed(0).padStart(7)}/s  p50 ${ms(f.p50)}  p95 ${ms(f.p95)}  p99 ${ms(f.p99)} ms  `
    + `${String(f.errors).padStart(4)} err  CPU/op ${Object.entries(f.cpuMsPerOp).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ') || '–'} ms${tail}`;
  return [
    `${r.date}  ${r.host.cpus} × ${r.host.model}, load average ${r.host.loadavg.map((l) => l.toFixed(1)).join(' ')}, Node ${r.host.node}, ${r.seconds} s per scenario`,
    ...r.baselines.map((b) => row(`[baseline] ${b.name}`, b, '')),
    ...r.scenarios.map((s) => row(s.name, s, `  ×${s.ratio.rps.toFixed(3)} of ${s.baseline} rate${s.ratio.cpu === null ? '' : `, ×${s.ratio.cpu.toFixed(1)} its CPU`}`)),
  ].join('\n');
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** A log10 axis from the largest power of ten at or below `min` to the smallest at or above `max`. */
function logAxis(values: number[]): { lo: number; hi: number } {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return { lo: 0, hi: 1 };
  return { lo: Math.floor(Math.log10(Math.min(...positive))), hi: Math.max(Math.ceil(Math.log10(Math.max(...positive))), Math.floor(Math.log10(Math.min(...positive))) + 1) };
}

/**
 * The chart: a row per baseline and scenario; left, requests (or events) per second as a bar;
 * right, latency as a bar to p99 with p50 and p95 marked. Both axes are logarithmic, since the
 * bare routes run two orders of magnitude above a payment.
 */
export function renderSvg(r: BenchResults): string {
  const rows = [...r.baselines.map((b) => ({ ...b, isBaseline: true, label: `baseline: ${b.name}` })),
    ...r.scenarios.map((s) => ({ ...s, isBaseline: false, label: `${s.name}  (×${s.ratio.rps < 0.01 ? s.ratio.rps.toFixed(4) : s.ratio.rps.toFixed(2)})` }))];
  const rowH = 22;
  const top = 64;
  const labelW = 480;
  const panelW = 300;
  const gap = 40;
  const rpsX = labelW;
  const latX = labelW + panelW + gap + 40;
  const width = latX + panelW + 175;
  const height = top + rows.length * rowH + 40;
  const rpsAxis = logAxis(rows.map((x) => x.rps));
  const latAxis = logAxis(rows.flatMap((x) => [x.p50, x.p99].filter((v): v is number => v !== null)));
  const scale = (axis: { lo: number; hi: number }, v: number) => (v <= 0 ? 0 : Math.max(0, Math.min(1, (Math.log10(v) - axis.lo) / (axis.hi - axis.lo))) * panelW);
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${escapeXml(`npm run bench — ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.host.cpus} cores (load ${r.host.loadavg[0]!.toFixed(1)}), ${r.seconds} s per scenario`)}</text>`,
    `<text x="10" y="36">${escapeXml('(×N) = rate / its same-run baseline; grey rows are the baselines')}</text>`,
    `<text x="${rpsX}" y="${top - 18}" font-weight="bold">per second (log)</text>`,
    `<text x="${latX}" y="${top - 18}" font-weight="bold">latency ms, bar to p99, ticks p50 | p95 (log)</text>`,
  ];
  for (const [x0, axis] of [[rpsX, rpsAxis], [latX, latAxis]] as const) {
    for (let e = axis.lo; e <= axis.hi; e++) {
      const x = x0 + scale(axis, 10 ** e);
      out.push(`<line x1="${x.toFixed(1)}" y1="${top - 10}" x2="${x.toFixed(1)}" y2="${top + rows.length * rowH}" stroke="#dddddd"/>`,
        `<text x="${x.toFixed(1)}" y="${top + rows.length * rowH + 14}" text-anchor="middle" fill="#666666">${escapeXml(10 ** e >= 1 ? String(10 ** e) : (10 ** e).toString())}</text>`);
    }
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const fill = row.isBaseline ? '#9e9e9e' : '#2f6db5';
    const w = scale(rpsAxis, row.rps);
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeXml(row.label)}</text>`,
      `<rect class="rps" x="${rpsX}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${fill}"/>`,
      `<text x="${(rpsX + w + 4).toFixed(1)}" y="${y + 15}" fill="#333333">${escapeXml(row.rps.toFixed(0))}</text>`);
    if (row.p99 !== null && row.p50 !== null && row.p95 !== null) {
      const w99 = scale(latAxis, row.p99);
      out.push(`<rect class="p99" x="${latX}" y="${y + 4}" width="${w99.toFixed(1)}" height="${rowH - 8}" fill="${row.isBaseline ? '#bdbdbd' : '#e08a2c'}"/>`);
      for (const p of [row.p50, row.p95]) {
        const x = latX + scale(latAxis, p);
        out.push(`<line x1="${x.toFixed(1)}" y1="${y + 2}" x2="${x.toFixed(1)}" y2="${y + rowH - 2}" stroke="#000000" stroke-width="2"/>`);
      }
      out.push(`<text x="${(latX + w99 + 4).toFixed(1)}" y="${y + 15}" fill="#333333">${escapeXml(`${row.p50.toFixed(1)} | ${row.p95.toFixed(1)} | ${row.p99.toFixed(1)}`)}</text>`);
    } else {
      out.push(`<text x="${latX}" y="${y + 15}" fill="#999999">rate only</text>`);
    }
  });
  out.push('</svg>', '');
  return out.join('\n');
}
