// SP-11, SP-5, SP-17: the client IP is one a client cannot choose. X-Forwarded-* headers count
// only from a configured proxy; a forwarded value that is not an IP literal falls back to the peer.
import t from 'tap';
import { loadGatewayConfig } from '../src/config.js';
import { buildTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { auditEvents, randomKzPhone, registerClient } from '../../test/support/clients.js';
import { testDataDir } from '../../test/support/pki.js';

const PROXY = '10.20.0.5';
const OUTSIDER = '203.0.113.7';
const trusted = { TRUST_PROXY: '10.20.0.0/16, 192.0.2.1' };

// A login the schema refuses (400): it still spends the per-IP login limit, and nothing else.
function badLogin(gw: TestGateway, remoteAddress: string, headers: Record<string, string> = {}) {
  return gw.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress, headers, payload: {} });
}

function login(gw: TestGateway, remoteAddress: string, phone: string, password: string, headers: Record<string, string> = {}) {
  return gw.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress, headers, payload: { phone, password } });
}

t.test('SP-11: from an untrusted peer, 20 concurrent logins with forged X-Forwarded-For share the peer rate-limit key', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...trusted, LOGIN_RATE_LIMIT_PER_MINUTE: '5' } });
  // Each request claims another client; all are the same peer, so 5 pass and 15 are limited.
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    badLogin(gw, OUTSIDER, { 'x-forwarded-for': `198.51.100.${i + 1}` })));
  const statuses = results.map((r) => r.statusCode);
  t.equal(statuses.filter((s) => s === 400).length, 5, 'five requests reach the route');
  t.equal(statuses.filter((s) => s === 429).length, 15, 'the rest are limited under the peer address');
  const other = await badLogin(gw, '203.0.113.8');
  t.equal(other.statusCode, 400, 'another peer has its own budget');
});

t.test('SP-5: from an untrusted peer, a forged X-Forwarded-For does not escape the per-IP SMS cap', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...trusted, OTP_MAX_PER_IP_HOUR: '2' } });
  const start = (i: number) => gw.app.inject({
    method: 'POST', url: '/v1/verifications', remoteAddress: OUTSIDER,
    headers: { 'x-forwarded-for': `198.51.100.${i}` },
    payload: { phone: randomKzPhone(), purpose: 'verification' },
  });
  t.equal((await start(1)).statusCode, 202);
  t.equal((await start(2)).statusCode, 202);
  const third = await start(3);
  t.equal(third.statusCode, 429, 'the third SMS from the same peer is capped');
  t.equal(third.json().code, 'rate_limited');
});

t.test('SP-17: from an untrusted peer, the audit record holds the peer address, not the forged one', async (t) => {
  const gw = await buildTestGateway(t, { env: trusted });
  const c = await registerClient(gw);
  const res = await login(gw, OUTSIDER, c.phone, 'wrong-pass-1', { 'x-forwarded-for': '198.51.100.9' });
  t.equal(res.statusCode, 401);
  const failures = (await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure');
  t.equal(failures.length, 1);
  t.equal(failures[0]!.ip, OUTSIDER);
});

t.test('SP-2: X-Forwarded-Host counts only from a trusted proxy', async (t) => {
  const gw = await buildTestGateway(t, { env: trusted });
  const health = (remoteAddress: string, headers: Record<string, string>) =>
    gw.app.inject({ method: 'GET', url: '/healthz', remoteAddress, headers });
  const forged = await health(OUTSIDER, { host: 'evil.example', 'x-forwarded-host': 'localhost' });
  t.equal(forged.statusCode, 421, 'an outsider cannot pass a foreign Host off as an allowed one');
  t.equal(forged.json().code, 'host_not_allowed');
  t.equal((await health(OUTSIDER, { host: 'localhost', 'x-forwarded-host': 'evil.example' })).statusCode, 200,
    'an outsider\'s X-Forwarded-Host is ignored');
  t.equal((await health(PROXY, { host: 'internal-lb', 'x-forwarded-host': 'localhost' })).statusCode, 200,
    'the proxy\'s X-Forwarded-Host is the host');
  t.equal((await health(PROXY, { host: 'localhost', 'x-forwarded-host': 'evil.example' })).statusCode, 421,
    'and is checked like any Host');
});

t.test('SP-11: through a trusted proxy, the right-most untrusted hop is the client', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...trusted, LOGIN_RATE_LIMIT_PER_MINUTE: '2' } });
  // The client wrote 6.6.6.6; the first proxy appended the real 198.51.100.20; a second one, 10.20.0.9.
  const viaProxy = (real: string) => badLogin(gw, PROXY, { 'x-forwarded-for': `6.6.6.6, ${real}, 10.20.0.9` });
  t.equal((await viaProxy('198.51.100.20')).statusCode, 400);
  t.equal((await viaProxy('198.51.100.20')).statusCode, 400);
  t.equal((await viaProxy('198.51.100.20')).statusCode, 429, 'that client is limited');
  t.equal((await viaProxy('198.51.100.21')).statusCode, 400, 'another client behind the same proxy is not');

  const c = await registerClient(gw);
  await login(gw, PROXY, c.phone, 'wrong-pass-1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.30' });
  const failures = (await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure');
  t.equal(failures.length, 1);
  t.equal(failures[0]!.ip, '198.51.100.30', 'the audit names the client the proxy saw');
});

t.test('SP-11, SP-17: a 2 KB forwarded value from a trusted proxy still counts and audits every wrong password', async (t) => {
  const gw = await buildTestGateway(t, { env: { ...trusted, LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
  const c = await registerClient(gw);
  const hostile = [
    'x'.repeat(2048),
    `fe80::1%${'a'.repeat(2048)}`, // an IPv6 literal with a zone index: net.isIP accepts it
    `198.51.100.1:${'9'.repeat(2048)}`,
  ];
  const statuses: number[] = [];
  for (const value of hostile) {
    const res = await login(gw, PROXY, c.phone, `wrong-${statuses.length}`, { 'x-forwarded-for': value });
    statuses.push(res.statusCode);
    if (res.statusCode === 423) t.equal(res.json().code, 'login_locked');
  }
  t.same(statuses, [401, 401, 423], 'three wrong passwords lock the login');
  const failures = (await auditEvents(gw, 'session.login')).filter((e) => e.outcome === 'failure');
  t.equal(failures.length, 3, 'each one is audited');
  t.ok(failures.every((e) => e.ip === PROXY), 'under the proxy\'s address, the only IP literal there is');
  t.equal((await login(gw, PROXY, c.phone, c.password)).statusCode, 423, 'the lock holds');
});

t.test('SP-11: TRUST_PROXY names proxies by address; true, a hop count and a bad range stop the boot', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };
  const load = (env: Record<string, string>) => loadGatewayConfig({ ...base, ...env });
  t.same(load({}).trustProxy, [], 'unset: no one is trusted');
  t.same(load({ TRUST_PROXY: 'false' }).trustProxy, []);
  t.same(load({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,fd00::/8' }).trustProxy, ['10.0.0.1', '10.1.0.0/16', 'fd00::/8']);
  const refused: Record<string, string>[] = [
    { TRUST_PROXY: 'true', NODE_ENV: 'production' },
    { TRUST_PROXY: 'true' },
    { TRUST_PROXY: '1' },
    { TRUST_PROXY: '10.0.0.0/33' },
    { TRUST_PROXY: '10.0.0.0/0' },
    { TRUST_PROXY: 'fd00::/129' },
    { TRUST_PROXY: '10.0.0.300' },
    { TRUST_PROXY: '10.0.0.1,proxy.internal' },
    { TRUST_PROXY: '10.0.0.0/8/8' },
  ];
  for (const env of refused) {
    t.throws(() => load(env), { name: 'ConfigError', setting: 'TRUST_PROXY' }, JSON.stringify(env));
  }
});
