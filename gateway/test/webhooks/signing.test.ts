// Webhook signatures (issue 15 item 4): verified by the reference `standardwebhooks` library, refused
// on a changed byte or an old timestamp, and both secrets sign during a rotation's grace period.
import t from 'tap';
import { Webhook } from 'standardwebhooks';
import { signWebhook } from '../../src/webhooks/signing.js';
import { newWebhookSecret } from '../../src/webhooks/secret-box.js';

const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', createdAt: '2026-12-06T19:00:00.000Z', data: { amount: 100 } });

t.test('a signature verifies with standardwebhooks and fails on a changed byte', async (t) => {
  const secret = newWebhookSecret();
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const headers = signWebhook([secret], 'msg_1', new Date(), body);
  t.same(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
  t.throws(() => new Webhook(secret).verify(body.replace('100', '101'), { ...headers }), 'changed body refused');
  t.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' }), 'changed id refused');
  t.throws(() => new Webhook(newWebhookSecret()).verify(body, { ...headers }), 'other secret refused');
});

t.test('an old timestamp is refused (replay)', async (t) => {
  const secret = newWebhookSecret();
  const headers = signWebhook([secret], 'msg_1', new Date(Date.now() - 10 * 60_000), body);
  t.throws(() => new Webhook(secret).verify(body, { ...headers }), /timestamp/i);
});

t.test('during rotation grace both the new and the old secret verify', async (t) => {
  const oldSecret = newWebhookSecret();
  const newSecret = newWebhookSecret();
  const headers = signWebhook([newSecret, oldSecret], 'msg_1', new Date(), body);
  t.equal(headers['webhook-signature'].split(' ').length, 2);
  t.ok(new Webhook(oldSecret).verify(body, { ...headers }), 'old verifier still accepts');
  t.ok(new Webhook(newSecret).verify(body, { ...headers }), 'new verifier accepts');
  const after = signWebhook([newSecret], 'msg_1', new Date(), body);
  t.throws(() => new Webhook(oldSecret).verify(body, { ...after }), 'after grace the old secret no longer verifies');
});
