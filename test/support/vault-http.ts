// A plain HTTPS client for the vault that presents the gateway's certificate (or another one), as
// the gateway's vault client does, but sends any body, malformed JSON included, and keeps every
// response body it receives, error answers too: the SP-16 leak tests search them.
import { Agent, request } from 'undici';
import { pkiFile } from './pki.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface RecordedResponse {
  status: number;
  text: string;
  json: any;
}

export interface RecordingVaultCaller {
  /** Sends `body` JSON-encoded, or as it is when it is a string. */
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<RecordedResponse>;
  /** Every response body received, in order. */
  readonly bodies: string[];
}

export function recordingVaultCaller(
  t: Teardown,
  url: string,
  identity: { cert: Buffer | string; key: Buffer | string } = { cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key') },
): RecordingVaultCaller {
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), ...identity } });
  t.teardown(() => agent.close());
  const bodies: string[] = [];
  return {
    bodies,
    async call(method, path, body) {
      const res = await request(`${url}${path}`, {
        method,
        dispatcher: agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      bodies.push(text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, text, json };
    },
  };
}
