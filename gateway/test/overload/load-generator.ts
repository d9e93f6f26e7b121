// The overload test's load generator, forked by the test so that its CPU (TLS, parsing, timers) is
// not the tap process's event loop and its latencies are not delayed by the test's own work. The
// test sends one phase at a time over IPC; kept-alive connections (and their TLS sessions) last
// across phases, so a phase measures requests, not handshakes.
//   closed: `concurrency` requests always in flight (each sent when the previous one answers).
//   open:   requests sent at `rate` per second, evenly spaced, whatever the answers (a closed loop
//           slows down with the server it measures and hides the queueing an open one meets).
// A latency runs from the moment the request is handed to the client (waiting for a free
// connection included) to the end of its answer's body.
import { readFileSync } from 'node:fs';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface Phase {
  kind: 'closed' | 'open';
  seconds: number;
  concurrency?: number;
  rate?: number;
}

export interface PhaseResult {
  /** Latencies (ms) by status code. */
  byStatus: Record<string, number[]>;
  /** Requests that failed without an answer (reset, timeout). */
  errors: number;
  /** How late the generator's own loop sent open-loop requests (ms, p99): its share of the machine. */
  sendLagP99: number;
  /** The first 503 answered, read in full. */
  shed?: { headers: Record<string, unknown>; body: string };
}

export interface GeneratorOptions {
  url: string;
  caFile: string;
  headers: Record<string, string>;
  connections: number;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

function generator(opts: GeneratorOptions) {
  const target = new URL(opts.url);
  const pool = new Pool(target.origin, {
    connections: opts.connections,
    connect: { ca: readFileSync(opts.caFile), servername: 'localhost' },
  });

  async function one(result: PhaseResult): Promise<void> {
    const sent = performance.now();
    try {
      const res = await pool.request({ method: 'GET', path: target.pathname, headers: opts.headers });
      const body = await res.body.text();
      const ms = performance.now() - sent;
      (result.byStatus[String(res.statusCode)] ??= []).push(ms);
      if (res.statusCode === 503 && !result.shed) result.shed = { headers: res.headers, body };
    } catch {
      result.errors++;
    }
  }

  async function run(phase: Phase): Promise<PhaseResult> {
    const result: PhaseResult = { byStatus: {}, errors: 0, sendLagP99: 0 };
    const start = performance.now();
    const end = start + phase.seconds * 1000;
    if (phase.kind === 'closed') {
      await Promise.all(Array.from({ length: phase.concurrency ?? 1 }, async () => {
        while (performance.now() < end) await one(result);
      }));
      return result;
    }
    const every = 1000 / (phase.rate ?? 1);
    const pending: Promise<void>[] = [];
    const lags: number[] = [];
    for (let i = 0; ; i++) {
      const due = start + i * every;
      if (due >= end) break;
      const wait = due - performance.now();
      // Behind schedule, it still yields, or the answers already in could not be read.
      await (wait >= 1 ? sleep(wait) : setImmediate());
      lags.push(Math.max(0, performance.now() - due));
      pending.push(one(result));
    }
    await Promise.all(pending);
    result.sendLagP99 = percentile(lags, 0.99);
    return result;
  }

  return { run, close: () => pool.close() };
}

// Started by the test (test/support/processes.ts): options in LOAD_GENERATOR, phases over IPC, one
// answer per phase.
if (process.send && process.env.LOAD_GENERATOR) {
  const gen = generator(JSON.parse(process.env.LOAD_GENERATOR) as GeneratorOptions);
  process.on('message', (phase: Phase | 'close') => {
    if (phase === 'close') {
      void gen.close().then(() => process.disconnect());
      return;
    }
    void gen.run(phase).then((result) => process.send?.(result));
  });
  process.send({ type: 'ready' });
}
