// Webhook settings: the back-off is computed from the retry window (~3 days by default), a bad key or
// an address-check exemption in production stops the process naming the setting.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../../lib/config.js';
import { testDataDir } from '../../../test/support/pki.js';
import { loadWebhooksConfig, retryPolicy } from '../../src/webhooks/webhooks.config.js';

t.test('the default back-off: 14 attempts, the last about 2.8 days after the first', async (t) => {
  const { retry } = loadWebhooksConfig({}, testDataDir(), 'development');
  t.same(retry, { attempts: 14, baseDelayMs: 30_000 });
  const lastAfterMs = retry.baseDelayMs * (2 ** (retry.attempts - 1) - 1);
  t.ok(lastAfterMs <= 72 * 3_600_000 && lastAfterMs > 48 * 3_600_000, `last retry ${(lastAfterMs / 86_400_000).toFixed(2)} days after the first`);
  t.same(retryPolicy(1_000, 1_000), { attempts: 2, baseDelayMs: 1_000 }, 'at least one retry');
});

t.test('the key comes from the variable or the file, 32 bytes only', async (t) => {
  const key = randomBytes(32);
  t.same(loadWebhooksConfig({ WEBHOOK_SECRET_KEY: key.toString('base64') }, testDataDir(), 'test').secretKey, key);
  t.equal(loadWebhooksConfig({}, testDataDir(), 'test').secretKey.length, 32, 'the generated development key');
  t.throws(() => loadWebhooksConfig({ WEBHOOK_SECRET_KEY: randomBytes(16).toString('base64') }, testDataDir(), 'test'),
    new ConfigError('WEBHOOK_SECRET_KEY', 'must hold exactly 32 random bytes, base64'));
  t.throws(() => loadWebhooksConfig({ WEBHOOK_SECRET_KEY_FILE: '/nonexistent/key' }, testDataDir(), 'test'), { name: 'ConfigError' });
});

t.test('WEBHOOK_ALLOWED_HOSTS: lowercased, brackets dropped; refused in production', async (t) => {
  t.same([...loadWebhooksConfig({ WEBHOOK_ALLOWED_HOSTS: 'Receiver.Local, [::1]' }, testDataDir(), 'test').allowedHosts], ['receiver.local', '::1']);
  t.throws(() => loadWebhooksConfig({ WEBHOOK_ALLOWED_HOSTS: 'receiver.local' }, testDataDir(), 'production'), { name: 'ConfigError', message: /WEBHOOK_ALLOWED_HOSTS/ });
  t.equal(loadWebhooksConfig({}, testDataDir(), 'test').enabled, false, 'off in tests unless asked');
});
