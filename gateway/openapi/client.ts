// A typed client of the public and merchant API: openapi-fetch over the types generated from
// /openapi.json (schema.d.ts), so a call, its parameters, body and every answer's shape are checked
// by the compiler. Merchants use it with their secret key, tests as a client or merchant would:
//
//   const api = createGatewayClient({ baseUrl: 'https://localhost:8443', token: 'sk_test_…', ca: readFileSync('.data/pki/ca.crt') });
//   const { data, error, response } = await api.GET('/v1/merchant');
//
// `ca` trusts a private CA (the development one) for this client only, never process-wide.
import createClient, { type Client } from 'openapi-fetch';
import { Agent, fetch as undiciFetch, Request as UndiciRequest, type Dispatcher } from 'undici';
import type { paths } from './schema.js';

export type { paths, components, operations } from './schema.js';

export interface GatewayClientOptions {
  baseUrl: string;
  /** A client session token or a merchant secret key, sent as `Authorization: Bearer …`. */
  token?: string;
  /** PEM of the CA to trust instead of the system's (the development CA). */
  ca?: string | Buffer;
  /** The TLS server name to verify, when the URL's host is not on the certificate. */
  servername?: string;
}

export type GatewayClient = Client<paths> & {
  /** The same connection pool with another token (after logging in, or another key). */
  withToken(token: string): GatewayClient;
  /** Closes the connections (only those this client opened). */
  close(): Promise<void>;
};

function build(baseUrl: string, dispatcher: Dispatcher | undefined, token: string | undefined, owned: Agent | undefined): GatewayClient {
  const client = createClient<paths>({
    baseUrl,
    // undici's own fetch and Request, so the dispatcher given is the one used (Node's built-in
    // fetch bundles another undici whose dispatchers are not interchangeable).
    Request: UndiciRequest as unknown as typeof Request,
    fetch: (request) => undiciFetch(request as unknown as UndiciRequest, dispatcher ? { dispatcher } : {}) as unknown as Promise<Response>,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return Object.assign(client, {
    withToken: (next: string) => build(baseUrl, dispatcher, next, undefined),
    close: async () => { await owned?.close(); },
  });
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const agent = opts.ca ? new Agent({ connect: { ca: opts.ca, ...(opts.servername ? { servername: opts.servername } : {}) } }) : undefined;
  return build(opts.baseUrl, agent, opts.token, agent);
}
