// k6/http (the harness's subset): synchronous requests (the main thread performs them), the
// built-in http_req_* metrics with k6's tags, expectedStatuses and responseCallback.
import { currentTags, declareMetric, httpSync, sample } from '../vu-context.js';
import type { HttpResult, Tags } from '../protocol.js';

declareMetric('http_reqs', 'counter', false);
declareMetric('http_req_duration', 'trend', true);
declareMetric('http_req_failed', 'rate', false);

interface Expected { statuses: number[]; ranges: Array<{ min: number; max: number }> }
interface Params {
  headers?: Record<string, string>;
  tags?: Tags;
  timeout?: string | number;
  responseCallback?: Expected | null;
}

export function expectedStatuses(...args: Array<number | { min: number; max: number }>): Expected {
  return {
    statuses: args.filter((a): a is number => typeof a === 'number'),
    ranges: args.filter((a): a is { min: number; max: number } => typeof a === 'object'),
  };
}

let defaultCallback: Expected | null = expectedStatuses({ min: 200, max: 399 });

export function setResponseCallback(callback: Expected | null): void {
  defaultCallback = callback;
}

function isExpected(callback: Expected | null | undefined, status: number): boolean | undefined {
  if (!callback) return undefined;
  return callback.statuses.includes(status) || callback.ranges.some((r) => status >= r.min && status <= r.max);
}

function milliseconds(timeout: string | number | undefined): number {
  if (timeout === undefined) return 60_000;
  if (typeof timeout === 'number') return timeout;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(timeout);
  if (!m) throw new Error(`invalid timeout ${timeout}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

/** A GJSON-style path as k6's Response.json(selector) takes: a.b, a.0.b. */
function select(value: unknown, selector: string): unknown {
  let v = value;
  for (const part of selector.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export class Response {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly error: string;
  readonly error_code: number;
  readonly timings: { duration: number };

  constructor(readonly url: string, readonly request: { method: string; url: string; body: string | null; headers: Record<string, string> }, r: HttpResult) {
    this.status = r.status;
    this.body = r.body;
    // k6 canonicalises header names (Content-Type); lower-case names are kept as well here.
    this.headers = {};
    for (const [k, v] of Object.entries(r.headers)) {
      this.headers[k] = v;
      this.headers[k.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase())] = v;
    }
    this.error = r.error;
    this.error_code = r.errorCode;
    this.timings = { duration: r.durationMs };
  }

  json(selector?: string): unknown {
    const parsed: unknown = JSON.parse(this.body);
    return selector === undefined ? parsed : select(parsed, selector);
  }
}

export function request(method: string, url: string, body?: string | object | null, params: Params = {}): Response {
  const headers = { ...(params.headers ?? {}) };
  let payload: string | null = null;
  if (typeof body === 'string') payload = body;
  else if (body && typeof body === 'object') {
    payload = new URLSearchParams(body as Record<string, string>).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  const req = { method: method.toUpperCase(), url, body: payload, headers };
  const result = httpSync({ ...req, timeoutMs: milliseconds(params.timeout) });
  const res = new Response(url, req, result);
  const callback = params.responseCallback === undefined ? defaultCallback : params.responseCallback;
  const expected = isExpected(callback, res.status);
  const tags = currentTags({
    method: req.method, url, name: url, status: String(res.status),
    ...(expected === undefined ? {} : { expected_response: String(expected) }),
    ...(result.error ? { error: result.error } : {}),
    ...(params.tags ?? {}),
  });
  sample('http_reqs', 1, tags);
  sample('http_req_duration', result.durationMs, tags);
  if (expected !== undefined) sample('http_req_failed', expected ? 0 : 1, tags);
  return res;
}

export const get = (url: string, params?: Params) => request('GET', url, null, params);
export const head = (url: string, params?: Params) => request('HEAD', url, null, params);
export const del = (url: string, body?: string | object | null, params?: Params) => request('DELETE', url, body, params);
export const post = (url: string, body?: string | object | null, params?: Params) => request('POST', url, body, params);
export const put = (url: string, body?: string | object | null, params?: Params) => request('PUT', url, body, params);
export const patch = (url: string, body?: string | object | null, params?: Params) => request('PATCH', url, body, params);

export default { request, get, head, del, post, put, patch, expectedStatuses, setResponseCallback, Response };
