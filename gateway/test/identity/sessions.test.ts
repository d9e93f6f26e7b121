import t from 'tap';
import { HOUR, MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, registerClient } from '../../../test/support/clients.js';

function me(gw: TestGateway, token: string) {
  return gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
}

t.test('sessions: GET /v1/me returns the profile and never a hash', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw, { name: 'Arman Test' });
  const res = await me(gw, c.token);
  t.equal(res.statusCode, 200);
  t.same(res.json(), { id: c.clientId, phone: c.phone, name: 'Arman Test', birthDate: '1990-05-17', language: 'kk', createdAt: '2026-11-24T10:00:00.000Z' });
  t.notMatch(res.body, /argon2/);
});

t.test('sessions: 256-bit opaque tokens stored only as SHA-256', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  t.match(c.token, /^[A-Za-z0-9_-]{43}$/);
  const row = await gw.db.selectFrom('gateway.sessions').selectAll().executeTakeFirstOrThrow();
  t.equal(row.token_hash.length, 32);
  t.notOk(JSON.stringify(row).includes(c.token), 'the token is not stored');
  t.notMatch(JSON.stringify(await auditEvents(gw)), new RegExp(c.token), 'nor audited');
});

t.test('sessions: missing, malformed and unknown tokens get 401 unauthorized', async (t) => {
  const gw = await buildTestGateway(t);
  for (const authorization of [undefined, 'Bearer', 'Basic abc', `Bearer ${'A'.repeat(43)}`, 'Bearer x y', `Bearer ${'A'.repeat(300)}`]) {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: authorization ? { authorization } : {} });
    t.equal(res.statusCode, 401, String(authorization).slice(0, 20));
    t.equal(res.json().code, 'unauthorized');
  }
});

t.test('sessions: idle time-out of 15 minutes; activity keeps the session alive', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  gw.clock.advance(14 * MINUTE);
  t.equal((await me(gw, c.token)).statusCode, 200, '14 idle minutes: alive (and touched)');
  gw.clock.advance(14 * MINUTE);
  t.equal((await me(gw, c.token)).statusCode, 200, 'activity restarted the idle clock');
  gw.clock.advance(15 * MINUTE);
  t.equal((await me(gw, c.token)).statusCode, 401, '15 idle minutes: expired');
});

t.test('sessions: absolute lifetime even with constant activity (SESSION_ABSOLUTE_HOURS)', async (t) => {
  const gw = await buildTestGateway(t, { env: { SESSION_ABSOLUTE_HOURS: '1' } });
  const c = await registerClient(gw);
  for (let i = 0; i < 5; i++) {
    gw.clock.advance(10 * MINUTE);
    t.equal((await me(gw, c.token)).statusCode, 200, `active at ${(i + 1) * 10} min`);
  }
  gw.clock.advance(10 * MINUTE);
  t.equal(gw.clock.now().getTime() - new Date('2026-11-24T10:00:00Z').getTime(), HOUR);
  t.equal((await me(gw, c.token)).statusCode, 401, 'absolute lifetime reached');
  const row = await gw.db.selectFrom('gateway.sessions').select(['created_at', 'expires_at']).executeTakeFirstOrThrow();
  t.equal(row.expires_at.getTime() - row.created_at.getTime(), HOUR);
});

t.test('sessions: the default absolute lifetime is 12 hours', async (t) => {
  const gw = await buildTestGateway(t);
  const login = (await registerClient(gw)) && (await gw.db.selectFrom('gateway.sessions').select(['created_at', 'expires_at']).executeTakeFirstOrThrow());
  t.equal(login.expires_at.getTime() - login.created_at.getTime(), 12 * HOUR);
});

t.test('sessions: logout revokes the token; other sessions continue', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const second = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: c.password } });
  const out = await gw.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { authorization: `Bearer ${c.token}` } });
  t.equal(out.statusCode, 204);
  t.equal((await me(gw, c.token)).statusCode, 401);
  t.equal((await gw.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { authorization: `Bearer ${c.token}` } })).statusCode, 401);
  t.equal((await me(gw, second.json().token)).statusCode, 200);
  t.equal((await auditEvents(gw, 'session.logout')).filter((e) => e.outcome === 'success').length, 1);
});

t.test('SP-21: a login audit event carries actor, action, outcome, time, IP, user agent, request id', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: 'bad-password' }, headers: { 'user-agent': 'tap-test/1.0' } });
  const failed = (await auditEvents(gw, 'session.login')).find((e) => e.outcome === 'failure')! as Record<string, any>;
  t.same(failed.actor, { type: 'visitor' });
  t.equal(failed.targets.phone, c.phone);
  t.equal(failed.userAgent, 'tap-test/1.0');
  t.equal(failed.ip, '127.0.0.1');
  t.ok(failed.requestId);
  t.equal(failed.occurredAt, '2026-11-24T10:00:00.000Z');
  t.notMatch(JSON.stringify(failed), /bad-password/);
});
