// SMS delivery behind one interface (SP-5.1). `outbox` appends one JSON line per message for
// development and tests; `http` posts to the bank's SMS gateway. Message text holds a code:
// neither implementation logs it.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Agent, request } from 'undici';
import type { Clock } from '../../../lib/clock.js';
import { DomainError } from '../errors.js';
import type { IdentityConfig } from './identity.config.js';

export interface SmsMessage {
  to: string; // E.164
  text: string;
}

export interface SmsProvider {
  send(message: SmsMessage): Promise<void>;
  close(): Promise<void>;
}

/**
 * Development: `{"to","text","sentAt"}` lines in a file (../shared/design.md). The file stays
 * open in append mode: each message is one write() that lands whole at the end, and a busy
 * gateway does not pay an open() and close() per code.
 */
export function outboxSmsProvider(file: string, clock: Clock): SmsProvider {
  let handle: Promise<FileHandle> | undefined;
  return {
    async send({ to, text }) {
      handle ??= mkdir(dirname(file), { recursive: true }).then(() => open(file, 'a', 0o600));
      await (await handle).write(`${JSON.stringify({ to, text, sentAt: clock.now().toISOString() })}\n`);
    },
    async close() {
      await (await handle)?.close();
      handle = undefined;
    },
  };
}

/**
 * Production: POST {to, text} as JSON with a bearer token over a kept-alive HTTPS pool; any
 * non-2xx or timeout is a 503 for the client, and the message text (it holds the code) never
 * reaches an error or a log. `ca` trusts a bank's internal CA instead of the public ones.
 */
export function httpSmsProvider(url: URL, token: string, timeoutMs: number, ca?: Buffer): SmsProvider {
  const agent = new Agent({ connect: ca ? { ca } : {} });
  return {
    async send({ to, text }) {
      let status: number;
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ to, text }),
          dispatcher: agent,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        throw new DomainError('service_unavailable', 'the SMS provider could not be reached', { 'retry-after': '30' });
      }
      if (status < 200 || status >= 300) {
        throw new DomainError('service_unavailable', `the SMS provider refused the message (${status})`, { 'retry-after': '30' });
      }
    },
    async close() {
      await agent.close();
    },
  };
}

export function createSmsProvider(config: IdentityConfig['sms'], clock: Clock): SmsProvider {
  if (config.provider === 'http' && config.httpUrl && config.httpToken) {
    return httpSmsProvider(config.httpUrl, config.httpToken.expose(), config.timeoutMs, config.httpCa ?? undefined);
  }
  return outboxSmsProvider(config.outboxFile, clock);
}
