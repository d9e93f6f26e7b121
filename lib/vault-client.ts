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

/** The vault's operations, a closed set: a path's token or reference never becomes a label. */
export type VaultOperation = 'tokenize' | 'delete_token' | 'authorize' | 'refund' | 'get_challenge' | 'complete_challenge' | 'health' | 'other';
/** 2xx answered, 4xx refused, unreachable or 5xx unavailable. */
export type VaultCallOutcome = 'ok' | 'refused' | 'unavailable';
export type VaultCallObserver = (operation: VaultOperation, outcome: VaultCallOutcome, seconds: number) => void;

const OPERATIONS: readonly [string, RegExp, VaultOperation][] = [
  ['POST', /^\/v1\/tokens$/, 'tokenize'],
  ['DELETE', /^\/v1\/tokens\/[^/]+$/, 'delete_token'],
  ['POST', /^\/v1\/authorizations$/, 'authorize'],
  ['POST', /^\/v1\/refunds$/, 'refund'],
  ['GET', /^\/v1\/challenges\/[^/]+$/, 'get_challenge'],
  ['POST', /^\/v1\/challenges\/[^/]+\/complete$/, 'complete_challenge'],
  ['GET', /^\/healthz$/, 'health'],
];

export function vaultOperation(method: string, path: string): VaultOperation {
  const bare = path.split('?', 1)[0]!;
  return OPERATIONS.find(([m, re]) => m === method && re.test(bare))?.[2] ?? 'other';
}

export interface VaultClient {
  call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<VaultResponse<T>>;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** `observe`, when given, hears every call's operation, outcome and time (the gateway's metrics). */
export function createVaultClient(opts: VaultClientOptions, observe?: VaultCallObserver): VaultClient {
  const agent = mutualTlsAgent({ ...opts, keepAliveMaxTimeoutMs: 600_000 });
  const base = opts.url.toString().replace(/\/$/, '');

  async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<VaultResponse<T>> {
    if (!observe) return send<T>(method, path, body);
    const started = performance.now();
    let outcome: VaultCallOutcome = 'unavailable';
    try {
      const res = await send<T>(method, path, body);
      outcome = res.status < 400 ? 'ok' : 'refused';
      return res;
    } finally {
      observe(vaultOperation(method, path), outcome, (performance.now() - started) / 1000);
    }
  }

  async function send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<VaultResponse<T>> {
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
