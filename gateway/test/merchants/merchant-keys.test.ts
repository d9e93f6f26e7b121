// Merchants' secret keys (issue 15 item 1; SP-17 staff actions audited, SP-21 every action once):
// created by staff and shown once, stored only as a digest, rotated and revoked, and refused with
// a stable code when malformed, unknown, revoked or expired; guesses limited per address, use per key.
import t from 'tap';
import { sql } from 'kysely';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { auditEvents, registerClient } from '../../../test/support/clients.js';
import { bearer, createTestKey, createTestMerchant } from '../../../test/support/merchants.js';

const whoami = (gw: TestGateway, headers: Record<string, string> = {}, ip = '203.0.113.7') =>
  gw.app.inject({ method: 'GET', url: '/v1/merchant', headers, remoteAddress: ip });

t.test('staff create a merchant; origins must be exact https origins', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  for (const bad of ['http://shop.example', 'https://shop.example/', 'https://shop.example/return', 'javascript:alert(1)',
    'https://user:pw@shop.example', 'shop.example', 'https://shop.example?x=1']) {
    const res = await admin.call('POST', '/v1/merchants', { name: 'Shop', providerId: 'kcell', returnOrigins: [bad] });
    t.equal(res.status, 400, `${bad} refused`);
    t.equal(res.json().code, 'validation_failed');
  }
  const unknown = await admin.call('POST', '/v1/merchants', { name: 'Shop', providerId: 'nope-provider', returnOrigins: ['https://shop.example'] });
  t.equal(unknown.json().code, 'provider_unknown');
  t.equal((await gw.db.selectFrom('gateway.merchants').select('id').execute()).length, 0, 'nothing stored by a refusal');

  const ok = await admin.call('POST', '/v1/merchants', { name: 'Kcell Shop', providerId: 'kcell', returnOrigins: ['https://shop.example', 'https://shop.example:8443'] });
  t.equal(ok.status, 201);
  t.match(ok.json(), { name: 'Kcell Shop', providerId: 'kcell', returnOrigins: ['https://shop.example', 'https://shop.example:8443'] });
  const [event, ...more] = (await auditEvents(gw, 'merchant.created')).filter((e) => e.outcome === 'success');
  t.equal(more.length, 0);
  t.match(event, { actor: { type: 'staff', id: 'admin' }, outcome: 'success', targets: { merchantId: ok.json().id } });
});

t.test('a key is shown once, stored as a digest only, and authenticates its merchant', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const m = await createTestMerchant(admin);
  t.match(m.secret, /^sk_test_[A-Za-z0-9_-]{43}$/, '32 random bytes after the mode prefix');
  const live = await createTestKey(admin, m.id, 'live');
  t.match(live.secret, /^sk_live_[A-Za-z0-9_-]{43}$/);

  const listed = await admin.call('GET', `/v1/merchants/${m.id}/keys`);
  t.equal(listed.status, 200);
  t.equal(listed.json().data.length, 2);
  t.notMatch(listed.text, m.secret.slice(8, 30), 'the list never shows a secret');
  t.same(listed.json().data.map((k: { last4: string }) => k.last4).sort(), [m.secret.slice(-4), live.secret.slice(-4)].sort());
  const { rows } = await sql<{ dump: string }>`select string_agg(t::text, ' ') as dump from gateway.merchant_keys t`.execute(gw.superuserDb);
  t.notMatch(rows[0]!.dump, m.secret.slice(8), 'the database holds no secret');

  const me = await whoami(gw, bearer(m.secret));
  t.equal(me.statusCode, 200);
  t.match(me.json(), { id: m.id, name: 'Kcell Shop', providerId: 'kcell', mode: 'test' });
  t.equal((await whoami(gw, bearer(live.secret))).json().mode, 'live');
  const used = await gw.db.selectFrom('gateway.merchant_keys').select(['id', 'last_used_at']).where('id', '=', m.keyId).executeTakeFirstOrThrow();
  t.same(used.last_used_at, gw.clock.now(), 'last use recorded');
  const [read] = await auditEvents(gw, 'merchant.read');
  t.match(read, { actor: { type: 'merchant', id: m.id }, outcome: 'success', targets: { merchantId: m.id } });
  t.equal((await auditEvents(gw, 'merchant_key.created')).length, 2, 'every key creation audited');
});

t.test('refusals: malformed, unknown, a session token, revoked, expired — each 401 with its code', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const m = await createTestMerchant(admin);
  const client = await registerClient(gw);
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no header', {}, 'api_key_invalid'],
    ['not bearer', { authorization: `Basic ${m.secret}` }, 'api_key_invalid'],
    ['malformed', bearer('sk_test_short'), 'api_key_invalid'],
    ['another prefix', bearer(`pk_test_${m.secret.slice(8)}`), 'api_key_invalid'],
    ['unknown', bearer(`sk_test_${'A'.repeat(43)}`), 'api_key_invalid'],
    ['mode changed', bearer(m.secret.replace('sk_test_', 'sk_live_')), 'api_key_invalid'],
    ['a client session token', bearer(client.token), 'api_key_invalid'],
  ];
  for (const [name, headers, code] of cases) {
    const res = await whoami(gw, headers);
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().code, code, name);
    t.match(res.headers['www-authenticate'], /^Bearer/);
  }

  // Rotation: a new key works at once, the old one stops at once.
  const next = await createTestKey(admin, m.id);
  t.equal((await admin.call('DELETE', `/v1/merchants/${m.id}/keys/${m.keyId}`)).status, 204);
  t.equal((await whoami(gw, bearer(m.secret))).json().code, 'api_key_revoked');
  t.equal((await whoami(gw, bearer(next.secret))).statusCode, 200);
  t.equal((await admin.call('DELETE', `/v1/merchants/${m.id}/keys/${m.keyId}`)).status, 404, 'revoked once');
  const other = await createTestMerchant(admin, { name: 'Other' });
  t.equal((await admin.call('DELETE', `/v1/merchants/${other.id}/keys/${next.id}`)).status, 404, 'not through another merchant');
  t.equal((await whoami(gw, bearer(next.secret))).statusCode, 200, 'still live');
  const [revoked] = (await auditEvents(gw, 'merchant_key.revoked')).filter((e) => e.outcome === 'success');
  t.match(revoked, { actor: { type: 'staff', id: 'admin' }, targets: { merchantId: m.id, merchantKeyId: m.keyId } });

  const expiring = await createTestKey(admin, m.id, 'test', new Date(gw.clock.now().getTime() + 3_600_000).toISOString());
  t.equal((await whoami(gw, bearer(expiring.secret))).statusCode, 200);
  gw.clock.advance(3_600_000);
  t.equal((await whoami(gw, bearer(expiring.secret))).json().code, 'api_key_expired');
  const past = await admin.call('POST', `/v1/merchants/${m.id}/keys`, { mode: 'test', expiresAt: new Date(gw.clock.now().getTime() - 1000).toISOString() });
  t.equal(past.status, 400, 'a key cannot be born expired');
  const refusals = (await auditEvents(gw, 'merchant.read')).filter((e) => e.outcome === 'refused');
  t.ok(refusals.length >= cases.length + 2, 'every refused attempt is audited');
  t.ok(refusals.every((e) => e.actor.type === 'visitor'), 'a refused key is no merchant');
});

t.test('guesses: at most MERCHANT_AUTH_FAILURES_MAX per address answered 401 in a window, however concurrent; then 429 before any lookup', async (t) => {
  const gw = await buildTestGateway(t, { env: { MERCHANT_AUTH_FAILURES_MAX: '5' } });
  const admin = await listenAdmin(t, gw.ctx);
  const m = await createTestMerchant(admin);
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    whoami(gw, bearer(`sk_test_${String(i).padStart(43, 'x')}`), '198.51.100.9')));
  t.equal(answers.filter((r) => r.statusCode === 401).length, 5, 'exactly five guesses answered as wrong keys');
  t.equal(answers.filter((r) => r.statusCode === 429).length, 25, 'the rest refused as a flood');
  t.ok(answers.filter((r) => r.statusCode === 429).every((r) => Number(r.headers['retry-after']) > 0));
  t.equal((await whoami(gw, bearer(m.secret), '198.51.100.9')).statusCode, 429, 'the guessing address waits, even with a good key');
  t.equal((await whoami(gw, bearer(m.secret), '198.51.100.10')).statusCode, 200, 'other addresses are not affected');
  // A merchant's own traffic never counts: its backend may send many requests at once from one address.
  const concurrent = await Promise.all(Array.from({ length: 30 }, () => whoami(gw, bearer(m.secret), '198.51.100.11')));
  t.same(concurrent.map((r) => r.statusCode), Array(30).fill(200), '30 concurrent requests with a good key from one address all pass');
  t.equal((await whoami(gw, bearer('sk_test_' + 'y'.repeat(43)), '198.51.100.11')).statusCode, 401, 'and left that address its whole guess budget');
});

t.test('use: at most MERCHANT_KEY_RATE_MAX requests per key per window, then 429 with Retry-After', async (t) => {
  const gw = await buildTestGateway(t, { env: { MERCHANT_KEY_RATE_MAX: '3' } });
  const admin = await listenAdmin(t, gw.ctx);
  const m = await createTestMerchant(admin);
  const other = await createTestKey(admin, m.id);
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => whoami(gw, bearer(m.secret), `192.0.2.${i + 1}`)));
  t.equal(answers.filter((r) => r.statusCode === 200).length, 3, 'three per window, across addresses and concurrency');
  t.ok(answers.filter((r) => r.statusCode === 429).every((r) => r.json().code === 'rate_limited' && Number(r.headers['retry-after']) > 0));
  t.equal((await whoami(gw, bearer(other.secret))).statusCode, 200, 'each key has its own budget');
});
