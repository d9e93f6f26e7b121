import t from 'tap';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { auditEvents, loginClient, registerClient } from '../../../test/support/clients.js';

t.test('SP-13: staff block a client; the live session stops at once and login is refused', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const c = await registerClient(gw);
  const me = () => gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } });
  t.equal((await me()).statusCode, 200);

  const blocked = await admin.call('POST', `/v1/clients/${c.clientId}/block`, { reason: 'suspected account takeover' });
  t.equal(blocked.status, 200);
  t.same(blocked.json(), { clientId: c.clientId, blocked: true });

  const live = await me();
  t.equal(live.statusCode, 403, 'the very next request with the live session is refused');
  t.equal(live.json().code, 'client_blocked');
  const login = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: c.password } });
  t.equal(login.statusCode, 403);
  t.equal(login.json().code, 'client_blocked');
  const wrong = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: 'not-the-pass' } });
  t.equal(wrong.json().code, 'invalid_credentials', 'a wrong password learns nothing about the block');
  const sessions = await gw.db.selectFrom('gateway.sessions').select('revoked_at').where('client_id', '=', c.clientId).execute();
  t.equal(sessions.length, 1, 'the session opened at registration');
  t.ok(sessions.every((s) => s.revoked_at !== null), 'the block revoked every session');

  const event = (await auditEvents(gw, 'client.blocked'))[0]!;
  t.same(event.actor, { type: 'staff', id: 'admin' }, 'the staff certificate identity is the actor');
  t.equal(event.targets.clientId, c.clientId);
  t.equal(event.details?.reason, 'suspected account takeover');

  const lifted = await admin.call('POST', `/v1/clients/${c.clientId}/unblock`, { reason: 'owner identified at branch' });
  t.same(lifted.json(), { clientId: c.clientId, blocked: false });
  t.equal((await me()).statusCode, 401, 'sessions revoked by the block stay dead');
  t.ok(await loginClient(gw, c.phone, c.password), 'login works again after unblock');
  t.equal((await auditEvents(gw, 'client.unblocked')).length, 1);
});

t.test('SP-13: the block routes exist only on the admin listener, for allow-listed staff', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const c = await registerClient(gw);
  const pub = await gw.app.inject({ method: 'POST', url: `/v1/clients/${c.clientId}/block`, payload: { reason: 'from the internet' } });
  t.equal(pub.statusCode, 404, 'not on the public port');
  const asGateway = await admin.call('POST', `/v1/clients/${c.clientId}/block`, { reason: 'not staff' }, 'gateway');
  t.equal(asGateway.status, 403);
  await t.rejects(admin.call('POST', `/v1/clients/${c.clientId}/block`, { reason: 'no cert' }, 'none'), { name: 'SocketError', code: 'UND_ERR_SOCKET' }, 'no client certificate: the listener closes the connection');
  const unknown = await admin.call('POST', '/v1/clients/01900000-0000-7000-8000-000000000000/block', { reason: 'who is this' });
  t.equal(unknown.status, 404);
  const noReason = await admin.call('POST', `/v1/clients/${c.clientId}/block`, {});
  t.equal(noReason.status, 400);
  t.equal(noReason.json().code, 'validation_failed');
  const badId = await admin.call('POST', '/v1/clients/42/block', { reason: 'bad id' });
  t.equal(badId.status, 400);
  const me = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } });
  t.equal(me.statusCode, 200, 'nothing above blocked the client');
});
