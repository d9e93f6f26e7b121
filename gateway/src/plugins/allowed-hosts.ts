// SP-2: the gateway serves only the bank's configured host names; any other Host is refused
// before routing, so the service cannot be passed off under a foreign domain.
import fp from 'fastify-plugin';
import { sendProblem } from '../errors.js';

export default fp(async function allowedHosts(app) {
  const allowed = new Set(app.ctx.config.publicListener.allowedHosts);
  app.addHook('onRequest', async (request, reply) => {
    const host = (request.hostname ?? '').toLowerCase();
    if (!allowed.has(host)) return sendProblem(reply, 'host_not_allowed', 'this host name is not served here');
  });
}, { name: 'allowed-hosts' });
