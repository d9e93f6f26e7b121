// The k6 API harness: runs a k6 script file UNCHANGED on Node (k6 cannot be installed on the
// development machines), implementing only what loadtest/*.js use: k6/http, check, group, sleep,
// fail, k6/metrics, k6/data, open, __ENV/__VU/__ITER, the arrival-rate executors, thresholds,
// setup/teardown/handleSummary and TLS (tlsAuth, insecureSkipTLSVerify, SSL_CERT_FILE). Each
// virtual user is a worker thread with its own module instance; HTTP is done by the main thread
// while the VU waits, as k6's API is synchronous. Its figures are the HARNESS's, never k6's.
//   npx tsx loadtest/harness/run.ts [-e NAME=value]… loadtest/login.js
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Agent, request } from 'undici';
import { arrivals, scenarioLength, type Scenario } from './executors.js';
import { MetricStore, type ThresholdResult } from './metrics.js';
import type { FromVu, HttpRequest, HttpResult, ToVu } from './protocol.js';

// A worker does not inherit the loader of its parent (tap's or tsx's): it registers tsx, then
// loads the VU, which registers the k6 module hook before it imports the script.
const VU_BOOT = `(async () => {
  const { register } = await import('tsx/esm/api');
  register();
  await import(${JSON.stringify(new URL('./vu.ts', import.meta.url).href)});
})().catch((err) => { throw err; });`;

export const LABEL = 'k6 API harness (Node.js, loadtest/harness): figures measured by the harness, not by k6';

export interface HarnessRun {
  ok: boolean;
  thresholds: ThresholdResult[];
  iterations: number;
  dropped: number;
  /** Distinct errors thrown by iterations (k6 logs them and goes on). */
  errors: string[];
  /** What handleSummary returned (or the harness's default text under `stdout`). */
  outputs: Record<string, string>;
}

interface Vu {
  id: number;
  worker: Worker;
  busy: boolean;
  call(message: ToVu): Promise<Extract<FromVu, { type: 'done' }>>;
}

export interface HarnessOptions {
  /** __ENV: the process environment and these (k6 -e NAME=value). */
  env?: Record<string, string>;
  /** At most this many VUs per scenario, whatever maxVUs says (worker threads are not free). */
  maxVusPerScenario?: number;
  /** Where the stdout of handleSummary goes (process.stdout by default). */
  write?: (text: string) => void;
}

export async function runScript(scriptPath: string, opts: HarnessOptions = {}): Promise<HarnessRun> {
  const script = resolve(scriptPath);
  const env = { ...(process.env as Record<string, string>), ...(opts.env ?? {}) };
  const cap = opts.maxVusPerScenario ?? Number(env.HARNESS_MAX_VUS ?? 16);
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const store = new MetricStore();
  for (const [name, kind, isTime] of [['iterations', 'counter', false], ['iteration_duration', 'trend', true], ['dropped_iterations', 'counter', false], ['vus_max', 'gauge', false]] as const) {
    store.declare(name, kind, isTime);
  }
  let agent: Agent | undefined;
  const vus: Vu[] = [];
  const errors = new Set<string>();

  async function perform(req: HttpRequest): Promise<HttpResult> {
    const started = performance.now();
    try {
      const res = await request(req.url, {
        method: req.method as 'GET', headers: req.headers, body: req.body ?? undefined, dispatcher: agent,
        headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs,
      });
      const body = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) headers[k] = [v ?? ''].flat().join(', ');
      return { status: res.statusCode, headers, body, durationMs: performance.now() - started, error: '', errorCode: 0 };
    } catch (err) {
      return { status: 0, headers: {}, body: '', durationMs: performance.now() - started, error: err instanceof Error ? err.message : String(err), errorCode: 1000 };
    }
  }

  function startVu(id: number): Promise<{ vu: Vu; ready: Extract<FromVu, { type: 'ready' }> }> {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const flag = new Int32Array(signal);
    const worker = new Worker(VU_BOOT, { eval: true, workerData: { script, env, id, syncPort: port2, signal }, transferList: [port2] });
    port1.on('message', (req: HttpRequest) => {
      void perform(req).then((result) => {
        port1.postMessage(result);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      });
    });
    let waiting: ((m: Extract<FromVu, { type: 'done' }>) => void) | undefined;
    return new Promise((resolveStart, reject) => {
      const vu: Vu = {
        id, worker, busy: false,
        call(message) {
          return new Promise((done) => { waiting = done; worker.postMessage(message); });
        },
      };
      worker.on('message', (m: FromVu) => {
        if (m.type === 'metric') store.declare(m.name, m.kind, m.isTime);
        else if (m.type === 'sample') store.add(m.name, m.value, m.tags);
        else if (m.type === 'ready') resolveStart({ vu, ready: m });
        else if (m.type === 'done') { const w = waiting; waiting = undefined; w?.(m); }
      });
      worker.once('error', (err) => { reject(err); waiting?.({ type: 'done', error: err.message }); });
      port1.unref();
    });
  }

  try {
    // VU 0 runs the init context first, then setup(), teardown() and handleSummary(), as in k6.
    const { vu: zero, ready } = await startVu(0);
    vus.push(zero);
    const options = ready.options as { scenarios?: Record<string, Scenario>; thresholds?: Record<string, unknown>; tlsAuth?: Array<{ cert: string; key: string }>; insecureSkipTLSVerify?: boolean };
    const scenarios = options.scenarios ?? {};
    if (Object.keys(scenarios).length === 0) throw new Error('the harness runs scripts with options.scenarios only');
    for (const [name, s] of Object.entries(scenarios)) {
      const exec = s.exec ?? 'default';
      if (!ready.exports.includes(exec)) throw new Error(`scenario ${name}: the script exports no function ${exec}`);
      arrivals(name, s);
    }
    store.validate(options.thresholds ?? {});
    const ca = env.SSL_CERT_FILE ? readFileSync(env.SSL_CERT_FILE) : undefined;
    const auth = options.tlsAuth?.[0];
    agent = new Agent({ connect: { ...(ca ? { ca } : {}), ...(auth ? { cert: auth.cert, key: auth.key } : {}), rejectUnauthorized: !options.insecureSkipTLSVerify } });

    const setup = await zero.call({ type: 'setup' });
    if (setup.error) throw new Error(`setup() failed: ${setup.error}`);
    const data = setup.result;

    let nextId = 1;
    const pools = new Map<string, { vus: Vu[]; starting: number }>();
    await Promise.all(Object.entries(scenarios).map(async ([name, s]) => {
      const pool = { vus: [] as Vu[], starting: 0 };
      pools.set(name, pool);
      const count = Math.min(s.preAllocatedVUs ?? 1, cap);
      const started = await Promise.all(Array.from({ length: count }, () => startVu(nextId++)));
      for (const { vu } of started) { pool.vus.push(vu); vus.push(vu); }
    }));

    let iterations = 0;
    let dropped = 0;
    const inflight = new Set<Promise<void>>();
    const runOn = (vu: Vu, name: string, s: Scenario) => {
      vu.busy = true;
      const started = performance.now();
      const p = vu.call({ type: 'iterate', exec: s.exec ?? 'default', scenario: name, data }).then((done) => {
        if (done.error) errors.add(done.error);
        iterations++;
        store.add('iterations', 1, { scenario: name });
        store.add('iteration_duration', performance.now() - started, { scenario: name });
        vu.busy = false;
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    const arrive = (name: string, s: Scenario) => {
      const pool = pools.get(name)!;
      const idle = pool.vus.find((v) => !v.busy);
      if (idle) return runOn(idle, name, s);
      if (pool.vus.length + pool.starting < Math.min(s.maxVUs ?? s.preAllocatedVUs ?? 1, cap)) {
        pool.starting++;
        const start = startVu(nextId++).then(({ vu }) => {
          pool.starting--;
          pool.vus.push(vu);
          vus.push(vu);
          runOn(vu, name, s);
        });
        inflight.add(start);
        void start.finally(() => inflight.delete(start));
        return;
      }
      dropped++;
      store.add('dropped_iterations', 1, { scenario: name });
    };

    const began = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const length = Math.max(...Object.values(scenarios).map(scenarioLength));
    for (const [name, s] of Object.entries(scenarios)) {
      const offset = (s.startTime ? scenarioLength({ ...s, duration: '0s', stages: [] }) : 0);
      for (const at of arrivals(name, s)) timers.push(setTimeout(() => arrive(name, s), offset + at));
    }
    await new Promise((r) => setTimeout(r, length + 5));
    while (inflight.size > 0) await Promise.all([...inflight]);
    const durationS = (performance.now() - began) / 1000;
    store.add('vus_max', vus.length - 1, {});

    const teardown = await zero.call({ type: 'teardown', data });
    if (teardown.error) errors.add(`teardown(): ${teardown.error}`);
    const verdicts = store.evaluate(options.thresholds ?? {}, durationS);
    const summaryData = {
      metrics: store.summary(durationS, verdicts),
      root_group: { name: '', path: '', groups: [], checks: [] },
      options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'] },
      state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationS * 1000, harness: LABEL },
    };
    let outputs: Record<string, string>;
    if (ready.exports.includes('handleSummary')) {
      const s = await zero.call({ type: 'summary', data: summaryData });
      if (s.error) throw new Error(`handleSummary() failed: ${s.error}`);
      outputs = (s.result ?? {}) as Record<string, string>;
    } else {
      outputs = { stdout: `${verdicts.map((v) => `${v.ok ? 'ok' : 'FAILED'} ${v.metric} ${v.expression} (${v.value})`).join('\n')}\n` };
    }
    for (const [target, content] of Object.entries(outputs)) {
      if (target === 'stdout') write(`── ${LABEL} ──\n${content}`);
      else if (target === 'stderr') process.stderr.write(content);
      else writeFileSync(target, content);
    }
    for (const t of timers) clearTimeout(t);
    return { ok: verdicts.every((v) => v.ok) && errors.size === 0, thresholds: verdicts, iterations, dropped, errors: [...errors], outputs };
  } finally {
    await Promise.all(vus.map((v) => v.worker.terminate()));
    await agent?.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const env: Record<string, string> = {};
  let script: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-e' || args[i] === '--env') {
      const [k, ...v] = args[++i]!.split('=');
      env[k!] = v.join('=');
    } else script = args[i];
  }
  if (!script) {
    process.stderr.write('usage: tsx loadtest/harness/run.ts [-e NAME=value]… script.js\n');
    process.exit(2);
  }
  const run = await runScript(script, { env });
  for (const e of run.errors) process.stderr.write(`iteration error: ${e}\n`);
  for (const v of run.thresholds.filter((x) => !x.ok)) process.stderr.write(`threshold FAILED: ${v.metric} ${v.expression} (${v.value}${v.reason ? `, ${v.reason}` : ''})\n`);
  process.stdout.write(`${LABEL}: ${run.iterations} iterations, ${run.dropped} dropped, thresholds ${run.thresholds.every((v) => v.ok) ? 'passed' : 'FAILED'}\n`);
  process.exit(run.thresholds.every((v) => v.ok) ? 0 : 99);
}
