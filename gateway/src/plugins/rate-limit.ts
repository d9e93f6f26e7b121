// Per-IP request ceiling for the public listener, counted in Redis so it holds across gateway
// instances (one Lua script per hit in @fastify/rate-limit's store). Routes tighten it further.
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { problemBody } from '../errors.js';

export default fp(async function publicRateLimit(app) {
  const { config, redis } = app.ctx;
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    redis,
    nameSpace: `${config.redisKeyPrefix}rl:`,
    skipOnError: false,
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
    errorResponseBuilder: (_request, context) => {
      const error = Object.assign(new Error('rate limited'), {
        statusCode: 429,
        ...problemBody('rate_limited', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
      });
      return error;
    },
  });
}, { name: 'public-rate-limit', dependencies: [] });
