// Load shedding on the public listener (issue 18): past capacity a request is refused at once with
// 503 + Retry-After rather than queued, so the requests admitted keep their latency. The first
// signal is exact and immediate: the requests this process has admitted and not yet answered
// (OVERLOAD_MAX_IN_FLIGHT). A sampled signal lets through everything that arrives between two
// samples: measured at 3x capacity, ~60 requests queued for 4 PostgreSQL connections between
// samples and the admitted p99 reached 28-76x the unloaded one. Two sampled signals remain for
// what the count does not see: the event loop's delay (this process's CPU is saturated, e.g. by
// work outside requests) and requests queued for a PostgreSQL connection (the database is slow),
// both every OVERLOAD_SAMPLE_INTERVAL_MS. Runs before the rate limit, so a shed request costs no
// Redis round trip. The probes are exempt: /healthz (the process lives) and /readyz (one shared
// probe a second; its 503 is its own readiness body).
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemBody } from '../errors.js';

const PROBES = new Set(['/healthz', '/readyz']);

const isProbe = (request: FastifyRequest) => PROBES.has(request.routeOptions.url ?? '');

export default fp(async function overload(app) {
  const { config, pool } = app.ctx;
  const { maxInFlight, maxEventLoopDelayMs, maxPoolWaiting, sampleIntervalMs, retryAfterS } = config.overload;
  // Answered here, not thrown to the error handler: a shed answer must cost far less than the
  // request it refuses (an Error's stack trace alone was a tenth of it), or shedding itself
  // saturates the process a little past capacity.
  const body = problemBody('overloaded', `the gateway is over capacity; retry in ${retryAfterS} s`);
  const shed = (reply: FastifyReply) => reply.code(503).type('application/problem+json').header('retry-after', String(retryAfterS));
  // under-pressure sends whatever its handler returns other than nullish or a promise (its README);
  // its types declare void only.
  const pressureHandler = ((request: FastifyRequest, reply: FastifyReply) => {
    if (isProbe(request)) return undefined;
    shed(reply);
    return body;
  }) as (request: FastifyRequest, reply: FastifyReply) => void;
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    sampleInterval: sampleIntervalMs,
    healthCheck: async () => pool.waitingCount <= maxPoolWaiting,
    healthCheckInterval: sampleIntervalMs,
    retryAfter: retryAfterS,
    pressureHandler,
  });
  if (maxInFlight === 0) return;
  // One event loop: the check and the increment cannot interleave with another request's.
  let inFlight = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (isProbe(request)) return;
    if (inFlight >= maxInFlight) return shed(reply).send(body);
    inFlight++;
    // 'close' comes once per response, answered or abandoned by its client.
    reply.raw.once('close', () => { inFlight--; });
  });
}, { name: 'overload' });
