// The staff listener (design: admin listener). Served only with mutual TLS; the certificate must
// not be revoked (INTERNAL_CRL_FILE), be a staff certificate (clientAuth, no service URI), and its
// common name must be on ADMIN_ALLOWED_IDENTITIES and becomes the actor of every audited staff call.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mutualTlsServerOptions, peerIdentity, requireAllowedPeer, type PeerRefusal } from '../../../lib/mtls.js';
import { floodGuard } from '../audit/flood-guard.js';
import { originOf, recordAudit, type RequestOrigin } from '../audit/record.js';
import requestAudit from '../audit/request-audit.js';
import type { GatewayContext } from '../context.js';
import { installProblemHandlers } from '../errors.js';
import clientsAdminRoutes from './clients.routes.js';
import adminDisputesRoutes from './disputes.routes.js';
import adminRefundsRoutes from './refunds.routes.js';
import auditExportRoutes from './audit-export.routes.js';
import adminMerchantsRoutes from './merchants.routes.js';
import sandboxSmsRoutes from './sandbox-sms.routes.js';
import adminWebhooksRoutes from './webhooks.routes.js';

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

const ID = /^[A-Za-z0-9._:@+-]{1,128}$/;

/**
 * A certificate of the internal CA that is not an allow-listed staff certificate (SP-17, SP-21).
 * Recorded before the 403 leaves, in its own statement (nothing else happens). A flood of such
 * requests from one certificate and address is recorded once a minute (floodGuard): each repeat
 * would say nothing the first does not, and the outbox must not be what a refused peer can fill.
 */
async function recordRefusedCertificate(ctx: GatewayContext, origin: RequestOrigin, refusal: PeerRefusal): Promise<void> {
  const name = refusal.identity;
  if (!(await floodGuard(ctx, `staff-refused:${name ?? ''}:${refusal.ip}`))) return;
  const idOk = name !== undefined && ID.test(name);
  await recordAudit(ctx.db, ctx.clock, origin, {
    actor: { type: 'staff', id: idOk ? name : 'unknown' },
    action: 'staff.connection.refused',
    outcome: 'refused',
    targets: {},
    // A name the schema cannot hold as an id is kept, cut short, as a detail: it is the evidence.
    details: { reason: 'peer_not_allowed', ...(name !== undefined && !idOk ? { peer: name.slice(0, 200) } : {}) },
  });
}

export async function adminApp(app: FastifyInstance, opts: { ctx: GatewayContext }): Promise<void> {
  app.decorate('ctx', opts.ctx);
  app.decorateRequest('staffIdentity', '');
  installProblemHandlers(app);
  const { ctx } = opts;
  await app.register(requestAudit, { ctx, actorOf: (request) => ({ type: 'staff', id: request.staffIdentity || 'unknown' }) });
  app.addHook('onRequest', requireAllowedPeer({ kind: 'staff', allowed: ctx.config.adminListener.allowedIdentities }, async (refusal, request) => {
    app.log.warn({ peer: refusal.identity ?? null, ip: refusal.ip }, 'admin listener refused a client certificate');
    const origin = originOf(request);
    origin.recorded = true;
    await recordRefusedCertificate(ctx, origin, refusal);
  }));
  app.addHook('onRequest', async (request) => {
    request.staffIdentity = peerIdentity(request) ?? '';
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(clientsAdminRoutes);
  await app.register(adminDisputesRoutes);
  await app.register(adminRefundsRoutes);
  await app.register(auditExportRoutes);
  await app.register(adminMerchantsRoutes);
  await app.register(adminWebhooksRoutes);
  // Load generators read codes here; never in production, never with a real SMS provider.
  const sms = ctx.config.identity.sms;
  if (ctx.config.env !== 'production' && sms.provider === 'outbox') await app.register(sandboxSmsRoutes, { outboxFile: sms.outboxFile });
}
