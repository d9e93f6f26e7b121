// The vault application (SP-4, SP-16): every request passes the client-certificate allow-list
// before any route runs. Served only over mutual TLS by server.ts; never listens itself.
import type { FastifyInstance } from 'fastify';
import { requireAllowedPeer } from '../../lib/mtls.js';
import type { VaultContext } from './context.js';

export async function vaultApp(app: FastifyInstance, opts: { ctx: VaultContext }): Promise<void> {
  app.decorate('vaultCtx', opts.ctx);
  app.addHook('onRequest', requireAllowedPeer(opts.ctx.config.listener.allowedIdentities, (refusal) => {
    app.log.warn({ peer: refusal.identity ?? null, ip: refusal.ip }, 'vault refused a client certificate');
  }));
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('application/problem+json').send({
    type: '/problems/not_found', title: 'not found', status: 404, detail: 'no such route', code: 'not_found',
  }));
  app.get('/healthz', async () => ({ status: 'ok' }));
}
