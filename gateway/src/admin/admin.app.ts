// The staff listener (design: admin listener). Served only with mutual TLS; the certificate must
// not be revoked (INTERNAL_CRL_FILE), be a staff certificate (clientAuth, no service URI), and its
// common name must be on ADMIN_ALLOWED_IDENTITIES and becomes the actor of every audited staff call.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mutualTlsServerOptions, peerIdentity, requireAllowedPeer } from '../../../lib/mtls.js';
import type { GatewayContext } from '../context.js';
import { installProblemHandlers } from '../errors.js';
import clientsAdminRoutes from './clients.routes.js';
import adminDisputesRoutes from './disputes.routes.js';
import adminRefundsRoutes from './refunds.routes.js';
import auditExportRoutes from './audit-export.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    staffIdentity: string;
  }
}

export function staffIdentity(request: FastifyRequest): string {
  return request.staffIdentity;
}

/** https options of the staff listener: mutual TLS against the internal CA and its revocation list. */
export function adminTlsOptions(listener: GatewayContext['config']['adminListener']) {
  return mutualTlsServerOptions({ cert: listener.cert, key: listener.key, ca: listener.ca, crl: listener.crl });
}

export async function adminApp(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  app.decorate('ctx', opts.ctx);
  app.decorateRequest('staffIdentity', '');
  installProblemHandlers(app);
  app.addHook('onRequest', requireAllowedPeer({ kind: 'staff', allowed: opts.ctx.config.adminListener.allowedIdentities }, (refusal) => {
    app.log.warn({ peer: refusal.identity ?? null, ip: refusal.ip }, 'admin listener refused a client certificate');
  }));
  app.addHook('onRequest', async (request) => {
    request.staffIdentity = peerIdentity(request) ?? '';
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(clientsAdminRoutes);
  await app.register(adminDisputesRoutes);
  await app.register(adminRefundsRoutes);
  await app.register(auditExportRoutes);
}
