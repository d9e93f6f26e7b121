// Serves a test gateway's admin app on a real mutual-TLS listener (127.0.0.1, random port) and
// calls it with a chosen client certificate from the test PKI — the only honest way to test an
// allow-list that depends on the TLS peer. `staffClient` calls a started gateway process's listener.
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Agent, request } from 'undici';
import { adminApp, adminTlsOptions } from '../../gateway/src/admin/admin.app.js';
import type { GatewayContext } from '../../gateway/src/context.js';
import { fastifyLogging } from './gateway.js';
import { pkiFile } from './pki.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export type Identity = 'admin' | 'gateway' | 'none';

export interface AdminResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export interface AdminClient {
  url: string;
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, as?: Identity): Promise<AdminResponse>;
}

export async function listenAdmin(t: Teardown, ctx: GatewayContext, log?: FastifyBaseLogger): Promise<AdminClient> {
  const server = Fastify({ ...fastifyLogging(log), https: adminTlsOptions(ctx.config.adminListener) })
    .withTypeProvider<TypeBoxTypeProvider>();
  await server.register(adminApp, { ctx });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const client = staffClient(t, `https://127.0.0.1:${(server.server.address() as { port: number }).port}`, pkiFile);
  // After the client's teardown: its kept-alive connections closed first.
  t.teardown(() => server.close());
  return client;
}

/** Calls a staff listener at `url` (this test's own or a started gateway process's) with certificates read by `file`. */
export function staffClient(t: Teardown, url: string, file: (name: string) => Buffer): AdminClient {
  const agents = new Map<Identity, Agent>();
  const agentFor = (as: Identity) => {
    let agent = agents.get(as);
    if (!agent) {
      agent = new Agent({
        connect: as === 'none'
          ? { ca: file('ca.crt'), servername: 'localhost' }
          : { ca: file('ca.crt'), cert: file(`${as}.crt`), key: file(`${as}.key`), servername: 'localhost' },
      });
      agents.set(as, agent);
    }
    return agent;
  };
  t.teardown(() => Promise.all([...agents.values()].map((a) => a.close())));
  return {
    url,
    async call(method, path, body, as = 'admin') {
      const res = await request(`${url}${path}`, {
        method,
        dispatcher: agentFor(as),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
    },
  };
}
