// The gateway's only way to the vault (SP-4): mutual TLS over a kept-alive undici pool, so a call
// costs no handshake once connections are up. Transport failures and vault 5xx become a
// VaultUnavailable; 4xx answers come back to the caller, who maps the vault's problem code.
import { request } from 'undici';
import { mutualTlsAgent, type MutualTlsAgentOptions } from './mtls-agent.js';

/** Where the vault is and the gateway's client certificate (lib/mtls-agent.ts). */
export type VaultClientOptions = Omit<MutualTlsAgentOptions, 'keepAliveMaxTimeoutMs'>;

export interface VaultResponse<T> {
  status: number;
  body: T;
}

export class VaultUnavailable extends Error {
  constructor(reason: string) {
    super(`vault unavailable: ${reason}`);
    this.name = 'VaultUnavailable';
  }
}

export interface VaultClient {
  call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<VaultResponse<T>>;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export function createVaultClient(opts: VaultClientOptions): VaultClient {
  const agent = mutualTlsAgent({ ...opts, keepAliveMaxTimeoutMs: 600_000 });
  const base = opts.url.toString().replace(/\/$/, '');

  async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<VaultResponse<T>> {
    let res;
    try {
      res = await request(`${base}${path}`, {
        method,
        dispatcher: agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new VaultUnavailable((err as { code?: string }).code ?? (err as Error).name);
    }
    const text = await res.body.text();
    if (res.statusCode >= 500) throw new VaultUnavailable(`status ${res.statusCode}`);
    return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  return {
    call,
    async healthy() {
      try {
        return (await call('GET', '/healthz')).status === 200;
      } catch {
        return false;
      }
    },
    close: () => agent.close(),
  };
}
