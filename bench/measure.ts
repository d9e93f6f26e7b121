// The one way every bench drives load and reads its figures, so `npm run bench` can put them
// side by side: closed-loop virtual clients for a fixed time, latency percentiles of the
// iterations that succeeded, and CPU per iteration of each watched process (bench/cpu.ts).
import { cpuSeconds } from './cpu.js';

/** A scenario's figures; latencies are null where a bench measures a rate only (a drained backlog). */
export interface Figures {
  rps: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  ok: number;
  errors: number;
  /** CPU milliseconds per successful iteration, per watched process (or group of processes). */
  cpuMsPerOp: Record<string, number>;
}

/** Processes whose CPU a scenario charges to its iterations; a function is read when the scenario starts. */
export type Watched = Record<string, number[] | (() => Promise<number[]>)>;

export function percentile(sorted: readonly number[], p: number): number | null {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
}

export const totalCpuMs = (f: Pick<Figures, 'cpuMsPerOp'>) => Object.values(f.cpuMsPerOp).reduce((a, b) => a + b, 0);

/** Keeps `concurrency` iterations in flight for `seconds`; an iteration that throws counts as an error. */
export async function drive(opts: {
  concurrency: number; seconds: number; watched?: Watched; iteration: (vu: number, n: number) => Promise<boolean>;
}): Promise<Figures> {
  const watched = Object.entries(opts.watched ?? {});
  const pids = await Promise.all(watched.map(([, list]) => (typeof list === 'function' ? list() : list)));
  const cpuBefore = pids.map(cpuSeconds);
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  await Promise.all(Array.from({ length: opts.concurrency }, async (_, vu) => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await opts.iteration(vu, n++).catch(() => false);
      if (ok) latencies.push(performance.now() - t0); else errors++;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const ok = latencies.length;
  return {
    rps: ok / elapsed, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), ok, errors,
    cpuMsPerOp: Object.fromEntries(watched.map(([label], i) => [label, ok ? ((cpuSeconds(pids[i]!) - cpuBefore[i]!) * 1000) / ok : 0])),
  };
}
