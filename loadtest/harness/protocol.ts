// Messages between the harness (main thread: scheduler, HTTP, metrics) and its virtual users
// (one worker thread each, running the k6 script as k6 runs it: its own module instance).

export type Tags = Record<string, string>;

export type MetricKind = 'counter' | 'gauge' | 'rate' | 'trend';

export interface HttpRequest {
  method: string;
  url: string;
  body: string | null;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  durationMs: number;
  error: string;
  errorCode: number;
}

/** Worker → main, asynchronous. */
export type FromVu =
  | { type: 'metric'; name: string; kind: MetricKind; isTime: boolean }
  | { type: 'sample'; name: string; value: number; tags: Tags }
  | { type: 'ready'; options: Record<string, unknown>; exports: string[] }
  | { type: 'done'; result?: unknown; error?: string }
  | { type: 'log'; line: string };

/** Main → worker. */
export type ToVu =
  | { type: 'setup' }
  | { type: 'teardown'; data: unknown }
  | { type: 'iterate'; exec: string; scenario: string; data: unknown }
  | { type: 'summary'; data: unknown };
