// The gateway's only way to the audit store (SP-20): the audit-worker's private export listener,
// over mutual TLS with the gateway's client certificate. The worker owns schema `audit` and the
// signing key; the gateway asks for an export and streams the signed answer on to staff.
// A transport failure or a worker 5xx is an AuditUnavailable; a 4xx comes back to the caller.
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { mutualTlsAgent, type MutualTlsAgentOptions } from './mtls-agent.js';
import type { ExportSubject } from './audit/export.js';

/** Where the worker's export listener is and the gateway's client certificate (lib/mtls-agent.ts). */
export type AuditClientOptions = Omit<MutualTlsAgentOptions, 'connections' | 'keepAliveMaxTimeoutMs'>;

export class AuditUnavailable extends Error {
  constructor(reason: string) {
    super(`audit worker unavailable: ${reason}`);
    this.name = 'AuditUnavailable';
  }
}

export type AuditExportResponse =
  | { status: 200; contentType: string; body: Readable }
  | { status: number; problem: { code?: string; detail?: string } };

export interface AuditClient {
  exportTrail(subject: ExportSubject, from: Date, to: Date): Promise<AuditExportResponse>;
  close(): Promise<void>;
}

export function createAuditClient(opts: AuditClientOptions): AuditClient {
  const agent = mutualTlsAgent({ ...opts, connections: 4 });
  const base = opts.url.toString().replace(/\/$/, '');

  return {
    async exportTrail(subject, from, to) {
      const path = 'clientId' in subject ? `/v1/clients/${encodeURIComponent(subject.clientId)}/audit` : `/v1/payments/${encodeURIComponent(subject.paymentId)}/audit`;
      const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
      let res;
      try {
        res = await request(`${base}${path}?${query.toString()}`, { method: 'GET', dispatcher: agent });
      } catch (err) {
        throw new AuditUnavailable((err as { code?: string }).code ?? (err as Error).name);
      }
      if (res.statusCode === 200) {
        return { status: 200, contentType: String(res.headers['content-type'] ?? 'application/x-ndjson'), body: res.body };
      }
      const text = await res.body.text().catch(() => '');
      if (res.statusCode >= 500) throw new AuditUnavailable(`status ${res.statusCode}`);
      let problem: { code?: string; detail?: string } = {};
      try {
        problem = JSON.parse(text) as typeof problem;
      } catch {
        // a non-JSON 4xx still reaches the caller, without details
      }
      return { status: res.statusCode, problem };
    },
    close: () => agent.close(),
  };
}
