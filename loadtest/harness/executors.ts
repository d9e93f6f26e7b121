// When the arrival-rate executors start iterations: constant-arrival-rate (rate per timeUnit for
// duration) and ramping-arrival-rate (a rate moving linearly from startRate through stages).

export interface Scenario {
  executor: string;
  exec?: string;
  startTime?: string;
  rate?: number;
  startRate?: number;
  timeUnit?: string;
  duration?: string;
  stages?: Array<{ target: number; duration: string }>;
  preAllocatedVUs?: number;
  maxVUs?: number;
}

/** k6 durations: 1m30s, 10s, 500ms, 2h. */
export function ms(duration: string | undefined, fallback = 0): number {
  if (duration === undefined) return fallback;
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration) throw new Error(`invalid duration ${JSON.stringify(duration)}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[p[2] as 'ms' | 's' | 'm' | 'h'], 0);
}

/** Start offsets (ms from the scenario's start) of every iteration the executor asks for. */
export function arrivals(name: string, s: Scenario): number[] {
  const unit = ms(s.timeUnit, 1000);
  if (s.executor === 'constant-arrival-rate') {
    if (!(s.rate! > 0)) throw new Error(`scenario ${name}: rate must be > 0`);
    const every = unit / s.rate!;
    const total = ms(s.duration);
    return Array.from({ length: Math.ceil(total / every) }, (_, i) => i * every);
  }
  if (s.executor === 'ramping-arrival-rate') {
    if (!Array.isArray(s.stages) || s.stages.length === 0) throw new Error(`scenario ${name}: stages are required`);
    const out: number[] = [];
    let t = 0;
    let rate = s.startRate ?? 0;
    let owed = 0;
    for (const stage of s.stages) {
      const length = ms(stage.duration);
      // Integrate the linear rate in 1 ms steps: an iteration starts each time one more is owed.
      for (let step = 0; step < length; step++) {
        const r = rate + ((stage.target - rate) * (step + 0.5)) / length;
        owed += r / unit;
        while (owed >= 1) {
          out.push(t + step);
          owed -= 1;
        }
      }
      t += length;
      rate = stage.target;
    }
    return out;
  }
  throw new Error(`scenario ${name}: the harness runs arrival-rate executors only, not ${s.executor}`);
}

export function scenarioLength(s: Scenario): number {
  return ms(s.startTime) + (s.stages ? s.stages.reduce((a, st) => a + ms(st.duration), 0) : ms(s.duration));
}
