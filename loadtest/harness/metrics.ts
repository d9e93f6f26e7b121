// The harness's metrics: every sample kept with its tags, so a threshold on a sub-metric
// (`http_req_duration{scenario:honest}`) is computed over exactly the samples k6 would use, and
// thresholds evaluated the way k6 reads them (`p(99)<150`, `rate>0.99`, `count>0`, `avg<…`).
import type { MetricKind, Tags } from './protocol.js';

interface Metric { kind: MetricKind; isTime: boolean; samples: Array<{ value: number; tags: Tags }> }

export interface ThresholdResult { metric: string; expression: string; ok: boolean; value: number; reason?: string }

const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (rank - lo);
}

export function aggregate(kind: MetricKind, values: number[], durationS: number): Record<string, number> {
  if (kind === 'counter') {
    const count = values.reduce((a, b) => a + b, 0);
    return { count, rate: durationS > 0 ? count / durationS : 0 };
  }
  if (kind === 'rate') {
    const passes = values.filter((v) => v !== 0).length;
    return { rate: values.length ? passes / values.length : 0, passes, fails: values.length - passes };
  }
  if (kind === 'gauge') return { value: values.at(-1) ?? 0, min: Math.min(...values), max: Math.max(...values) };
  const sorted = [...values].sort((a, b) => a - b);
  const out: Record<string, number> = {
    avg: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
    min: sorted[0] ?? NaN, med: percentile(sorted, 50), max: sorted.at(-1) ?? NaN,
  };
  for (const p of [90, 95, 99]) out[`p(${p})`] = percentile(sorted, p);
  return out;
}

/** `name{tag:value,…}` → the name and the tags a sample must carry. */
function parseSelector(key: string): { name: string; tags: Tags } {
  const m = /^([A-Za-z0-9_]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`invalid threshold metric ${JSON.stringify(key)}`);
  const tags: Tags = {};
  for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
    const at = pair.indexOf(':');
    if (at < 1) throw new Error(`invalid tag filter ${JSON.stringify(pair)} in ${key}`);
    tags[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return { name: m[1]!, tags };
}

const OPS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b,
  '==': (a, b) => a === b, '===': (a, b) => a === b, '!=': (a, b) => a !== b,
};

export class MetricStore {
  private readonly metrics = new Map<string, Metric>();

  declare(name: string, kind: MetricKind, isTime: boolean): void {
    const known = this.metrics.get(name);
    if (known && known.kind !== kind) throw new Error(`metric ${name} declared as ${known.kind} and ${kind}`);
    if (!known) this.metrics.set(name, { kind, isTime, samples: [] });
  }

  add(name: string, value: number, tags: Tags): void {
    const m = this.metrics.get(name);
    if (!m) throw new Error(`sample of an undeclared metric ${name}`);
    m.samples.push({ value, tags });
  }

  count(name: string): number {
    return this.metrics.get(name)?.samples.length ?? 0;
  }

  /** Throws, as k6 does before the run, on a threshold naming no metric or no aggregation of its kind. */
  validate(thresholds: Record<string, unknown>): void {
    for (const [key, list] of Object.entries(thresholds)) {
      const { name } = parseSelector(key);
      const metric = this.metrics.get(name);
      if (!metric) throw new Error(`invalid threshold defined on ${key}: no metric name "${name}" found`);
      for (const t of [list].flat()) this.parseExpression(key, metric.kind, typeof t === 'string' ? t : (t as { threshold: string }).threshold);
    }
  }

  private parseExpression(key: string, kind: MetricKind, expression: string) {
    const m = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expression);
    if (!m) throw new Error(`invalid threshold expression ${JSON.stringify(expression)} on ${key}`);
    const allowed = { counter: ['count', 'rate'], rate: ['rate'], gauge: ['value'], trend: ['avg', 'min', 'med', 'max'] }[kind];
    if (!allowed.includes(m[1]!) && !(kind === 'trend' && /^p\(\d+(\.\d+)?\)$/.test(m[1]!))) {
      throw new Error(`invalid threshold ${expression} on ${key}: a ${kind} has no ${m[1]}`);
    }
    return { stat: m[1]!, op: m[2]!, limit: Number(m[3]) };
  }

  evaluate(thresholds: Record<string, unknown>, durationS: number): ThresholdResult[] {
    const results: ThresholdResult[] = [];
    for (const [key, list] of Object.entries(thresholds)) {
      const { name, tags } = parseSelector(key);
      const metric = this.metrics.get(name)!;
      const values = metric.samples.filter((s) => Object.entries(tags).every(([k, v]) => s.tags[k] === v)).map((s) => s.value);
      for (const t of [list].flat()) {
        const expression = typeof t === 'string' ? t : (t as { threshold: string }).threshold;
        const { stat, op, limit } = this.parseExpression(key, metric.kind, expression);
        const stats = aggregate(metric.kind, values, durationS);
        const p = /^p\((.+)\)$/.exec(stat);
        const value = p ? percentile([...values].sort((a, b) => a - b), Number(p[1])) : stats[stat]!;
        // Stricter than k6 on purpose: a threshold whose samples never came is a script that did
        // not run what it says (a wrong scenario or tag), so it fails here.
        if (values.length === 0) results.push({ metric: key, expression, ok: false, value, reason: 'no samples' });
        else results.push({ metric: key, expression, ok: OPS[op]!(value, limit), value });
      }
    }
    return results;
  }

  /** The `data.metrics` handleSummary receives, with the thresholds' verdicts. */
  summary(durationS: number, verdicts: ThresholdResult[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, m] of this.metrics) {
      const values = aggregate(m.kind, m.samples.map((s) => s.value), durationS);
      if (m.kind === 'trend') for (const k of Object.keys(values)) if (!TREND_STATS.includes(k)) delete values[k];
      const own = verdicts.filter((v) => v.metric === name);
      out[name] = {
        type: m.kind, contains: m.isTime ? 'time' : 'default', values,
        ...(own.length ? { thresholds: Object.fromEntries(own.map((v) => [v.expression, { ok: v.ok }])) } : {}),
      };
    }
    for (const v of verdicts.filter((x) => x.metric.includes('{'))) {
      const base = this.metrics.get(parseSelector(v.metric).name)!;
      const entry = (out[v.metric] ??= { type: base.kind, contains: base.isTime ? 'time' : 'default', values: {}, thresholds: {} }) as { values: Record<string, number>; thresholds: Record<string, { ok: boolean }> };
      const { tags } = parseSelector(v.metric);
      entry.values = aggregate(base.kind, base.samples.filter((s) => Object.entries(tags).every(([k, val]) => s.tags[k] === val)).map((s) => s.value), durationS);
      entry.thresholds[v.expression] = { ok: v.ok };
    }
    return out;
  }
}
