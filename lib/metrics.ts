// Prometheus metrics (prom-client) for one process, served on its own plain-HTTP listener on a
// private address (METRICS_HOST/METRICS_PORT). Not on the staff listener: that one admits only
// staff certificates, and a scraper holding one would hold the staff API too. Labels come from a
// closed vocabulary only (route patterns, methods, status codes): never a URL, phone, token or code.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Metrics {
  registry: Registry;
  requests: Counter<'listener' | 'method' | 'route' | 'status_code'>;
  duration: Histogram<'listener' | 'method' | 'route'>;
}

/** A registry with Node's default metrics (event-loop delay, GC, memory) under `pgw_<process>_`-free names. */
export function createMetrics(processName: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'pgw_http_requests_total', help: 'HTTP requests answered, by route pattern and status code',
      labelNames: ['listener', 'method', 'route', 'status_code'], registers: [registry],
    }),
    duration: new Histogram({
      name: 'pgw_http_request_duration_seconds', help: 'HTTP request latency, by route pattern',
      labelNames: ['listener', 'method', 'route'], registers: [registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
  };
}

// Fastify's method names are a closed set; anything else a client sends is counted as OTHER.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts every answer of `app` by its route pattern (`/v1/payments/:id`), or `unmatched` when no
 * route matched (the raw URL would carry whatever a client typed). One counter increment and one
 * histogram observation per request.
 */
interface Hookable {
  addHook(name: 'onResponse', hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void>): unknown;
}

export function instrument(app: Hookable, metrics: Metrics, listener: string): void {
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.requests.inc({ listener, method, route, status_code: String(reply.statusCode) });
    metrics.duration.observe({ listener, method, route }, reply.elapsedTime / 1000);
  });
}

/** The scrape listener: `GET /metrics` only. */
export function metricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
}

/** Serves `server` on `listener`; resolves with the port, or undefined when metrics are off. */
export async function listenMetrics(server: Server, listener: { host: string; port: number } | undefined): Promise<number | undefined> {
  if (!listener) return undefined;
  const { host, port } = listener;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return (server.address() as { port: number }).port;
}
