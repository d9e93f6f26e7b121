// Load shedding on the public listener (issue 18): past capacity a request is refused at once with
// 503 + Retry-After rather than queued, so the requests admitted keep their latency. Two signals:
// the event loop's delay (this process's CPU is saturated) and requests queued for a PostgreSQL
// connection (the database is), both sampled every OVERLOAD_SAMPLE_INTERVAL_MS. Runs before the
// rate limit, so a shed request costs no Redis round trip. The probes are exempt: /healthz (the
// process lives) and /readyz (one shared probe a second; its 503 is its own readiness body).
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import { DomainError } from '../errors.js';

const PROBES = new Set(['/healthz', '/readyz']);

export default fp(async function overload(app) {
  const { config, pool } = app.ctx;
  const { maxEventLoopDelayMs, maxPoolWaiting, sampleIntervalMs, retryAfterS } = config.overload;
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    sampleInterval: sampleIntervalMs,
    healthCheck: async () => pool.waitingCount <= maxPoolWaiting,
    healthCheckInterval: sampleIntervalMs,
    retryAfter: retryAfterS,
    // Resolving lets the request through; a rejection reaches the problem+json error handler.
    pressureHandler: async (request) => {
      if (PROBES.has(request.routeOptions.url ?? '')) return;
      throw new DomainError('overloaded', `the gateway is over capacity; retry in ${retryAfterS} s`, { 'retry-after': String(retryAfterS) });
    },
  });
}, { name: 'overload' });
