// Serves a test gateway's public app on a real HTTPS listener (127.0.0.1, random port), as
// server.ts does, for tests that talk to it over the network: the typed client, a merchant's code.
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { publicApp } from '../../gateway/src/app.js';
import type { GatewayContext } from '../../gateway/src/context.js';
import { trustProxyOption } from '../../gateway/src/plugins/client-ip.js';
import { fastifyLogging } from './gateway.js';
import { pkiFile } from './pki.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface PublicListener {
  /** https://127.0.0.1:PORT (on the development certificate). */
  url: string;
  /** The development CA that signed the listener's certificate. */
  ca: Buffer;
}

export async function listenPublic(t: Teardown, ctx: GatewayContext, log?: FastifyBaseLogger): Promise<PublicListener> {
  const server = Fastify({
    ...fastifyLogging(log),
    trustProxy: trustProxyOption(ctx.config.trustProxy),
    https: { cert: ctx.config.publicListener.cert, key: ctx.config.publicListener.key, minVersion: 'TLSv1.2' },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await server.register(publicApp, { ctx });
  await server.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  return { url: `https://127.0.0.1:${(server.server.address() as { port: number }).port}`, ca: pkiFile('ca.crt') };
}
