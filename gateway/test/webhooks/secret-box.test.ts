// Webhook secrets at rest (issue 15 item 4): sealed with AES-256-GCM, opened only with the same key
// and the same endpoint id; a changed byte fails authentication.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { newWebhookSecret, openSecret, sealSecret } from '../../src/webhooks/secret-box.js';

t.test('a sealed secret opens only with its key and endpoint id', async (t) => {
  const key = randomBytes(32);
  const secret = newWebhookSecret();
  const sealed = sealSecret(key, 'endpoint-a', secret);
  t.notOk(sealed.includes(Buffer.from(secret)), 'plaintext not in the sealed bytes');
  t.equal(openSecret(key, 'endpoint-a', sealed), secret);
  t.throws(() => openSecret(randomBytes(32), 'endpoint-a', sealed), 'other key refused');
  t.throws(() => openSecret(key, 'endpoint-b', sealed), 'copied onto another endpoint refused');
  const tampered = Buffer.from(sealed);
  tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
  t.throws(() => openSecret(key, 'endpoint-a', tampered), 'changed byte refused');
  t.throws(() => sealSecret(randomBytes(16), 'endpoint-a', secret), 'short key refused');
});
