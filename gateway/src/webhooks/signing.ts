// Standard Webhooks signatures (https://www.standardwebhooks.com): `v1,` + base64 HMAC-SHA256 of
// `${id}.${timestamp}.${body}` under the base64-decoded secret. During a rotation's grace period
// both the current and the previous secret sign, space-separated, so a receiver holding either
// verifies.
import { createHmac } from 'node:crypto';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

function signOne(secret: string, content: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
}

export function signWebhook(secrets: readonly string[], messageId: string, sentAt: Date, body: string): SignedHeaders {
  const timestamp = Math.floor(sentAt.getTime() / 1000).toString();
  const content = `${messageId}.${timestamp}.${body}`;
  return {
    'webhook-id': messageId,
    'webhook-timestamp': timestamp,
    'webhook-signature': secrets.map((s) => signOne(s, content)).join(' '),
  };
}
