// The public listener's application (SP-1, SP-2): a plain Fastify plugin that never listens.
// server.ts serves it over HTTPS; tests drive it with app.inject(). Capabilities register below.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from './context.js';
import { installProblemHandlers } from './errors.js';
import clientIp from './plugins/client-ip.js';
import allowedHosts from './plugins/allowed-hosts.js';
import securityHeaders from './plugins/security-headers.js';
import publicRateLimit from './plugins/rate-limit.js';
import overload from './plugins/overload.js';
import requestAudit, { publicActor } from './audit/request-audit.js';
import healthRoutes from './health/health.routes.js';
import openapi from './plugins/openapi.js';
import authenticate from './identity/authenticate.js';
import identityRoutes from './identity/identity.routes.js';
import paymentsPlugin from './payments/payments.plugin.js';
import merchantAuth from './merchants/merchant-auth.js';
import merchantRoutes from './merchants/merchant.routes.js';
import checkoutPlugin from './checkout/checkout.plugin.js';
import webhooksPlugin from './webhooks/webhooks.plugin.js';
import cookie from '@fastify/cookie';
import pagesRoutes from './pages/pages.routes.js';

export async function publicApp(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  app.decorate('ctx', opts.ctx);
  installProblemHandlers(app);
  // First: every hook and route after it reads a client IP that is an IP literal.
  await app.register(clientIp);
  await app.register(requestAudit, { ctx: opts.ctx, actorOf: publicActor });
  await app.register(allowedHosts);
  await app.register(securityHeaders);
  // Before the rate limit: a shed request costs no Redis round trip.
  await app.register(overload);
  await app.register(publicRateLimit);
  // Before the routes: it collects them as they are added.
  await app.register(openapi);
  await app.register(healthRoutes);
  await app.register(cookie);
  await app.register(authenticate);
  await app.register(merchantAuth);
  await app.register(identityRoutes);
  await app.register(paymentsPlugin);
  await app.register(merchantRoutes);
  await app.register(checkoutPlugin);
  await app.register(webhooksPlugin);
  await app.register(pagesRoutes);
}
