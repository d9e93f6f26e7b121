// @fastify/helmet configured for a JSON API that browsers reach over HTTPS only (SP-1):
// HSTS for two years, nothing may be framed, scripted or loaded from this origin.
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'immutable': a content-hashed asset that may be cached for a year. */
    cache?: 'immutable';
  }
}

export default fp(async function securityHeaders(app) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true, preload: true },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // Every answer is private and uncached, except the pages' content-hashed assets: a new build
  // is a new name, so a year-long cache can never serve a stale or swapped script.
  app.addHook('onSend', async (request, reply) => {
    const immutable = request.routeOptions.config.cache === 'immutable' && reply.statusCode === 200;
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-store');
  });
}, { name: 'security-headers' });
