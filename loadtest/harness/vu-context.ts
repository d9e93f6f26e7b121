// What a virtual user's k6 modules share inside its worker thread: the way to the main thread
// (samples asynchronously; HTTP synchronously, as k6's API is synchronous) and the current tags.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FromVu, HttpRequest, HttpResult, MetricKind, Tags } from './protocol.js';

const sync = (workerData as { syncPort: MessagePort; signal: SharedArrayBuffer }).syncPort;
const signal = new Int32Array((workerData as { signal: SharedArrayBuffer }).signal);
const declared = new Set<string>();

export const vu = { scenario: '', group: '', iterationStarted: 0 };

export function post(message: FromVu): void {
  parentPort!.postMessage(message);
}

/** Built-in tags of a sample taken now: the scenario and group running, then the caller's. */
export function currentTags(extra: Tags = {}): Tags {
  return { ...(vu.scenario ? { scenario: vu.scenario } : {}), group: vu.group, ...extra };
}

export function declareMetric(name: string, kind: MetricKind, isTime: boolean): void {
  if (declared.has(name)) return;
  declared.add(name);
  post({ type: 'metric', name, kind, isTime });
}

export function sample(name: string, value: number, tags: Tags): void {
  post({ type: 'sample', name, value, tags });
}

/** Blocks this virtual user until the main thread has done the request, as k6's http does. */
export function httpSync(request: HttpRequest): HttpResult {
  Atomics.store(signal, 0, 0);
  sync.postMessage(request);
  Atomics.wait(signal, 0, 0);
  const reply = receiveMessageOnPort(sync);
  if (!reply) throw new Error('k6 harness: the main thread answered nothing');
  return reply.message as HttpResult;
}

/** k6's sleep(): this virtual user waits, blocking only its own thread. */
export function sleepSync(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, seconds * 1000));
}
