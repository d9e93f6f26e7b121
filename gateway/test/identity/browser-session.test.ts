// Issue 16: the pages' cookie session. The token lives only in a __Host- HttpOnly cookie; every
// state-changing request it authenticates needs this origin's Origin and the session's CSRF
// token; Bearer clients are unchanged. Hostile cases: no/wrong/foreign token, foreign or missing
// Origin, a cookie riding along with a Bearer header.
import t from 'tap';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { registerClient } from '../../../test/support/clients.js';
import { csrfTokenOf } from '../../src/identity/browser-session.js';

const HOST = 'localhost:8443';
const ORIGIN = `https://${HOST}`;

interface Jar { session: string; csrf: string; setCookies: string[] }

async function cookieLogin(gw: TestGateway, phone: string, password: string, headers: Record<string, string> = { origin: ORIGIN }) {
  return gw.app.inject({ method: 'POST', url: '/v1/sessions', headers: { host: HOST, 'x-session-transport': 'cookie', ...headers }, payload: { phone, password } });
}

function jarOf(res: Awaited<ReturnType<typeof cookieLogin>>): Jar {
  const setCookies = [res.headers['set-cookie'] ?? []].flat();
  const value = (name: string) => /=([^;]*)/.exec(setCookies.find((c) => c.startsWith(`${name}=`)) ?? '')?.[1] ?? '';
  return { session: value('__Host-pgw_session'), csrf: value('__Host-pgw_csrf'), setCookies };
}

function logout(gw: TestGateway, headers: Record<string, string>) {
  return gw.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: { host: HOST, ...headers } });
}

async function sessionCount(gw: TestGateway): Promise<number> {
  const row = await gw.db.selectFrom('gateway.sessions').select((eb) => eb.fn.countAll<string>().as('n')).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

t.test('cookie login: the token only in __Host- HttpOnly, Secure, SameSite=Strict cookies, never in the body', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const res = await cookieLogin(gw, c.phone, c.password);
  t.equal(res.statusCode, 201);
  t.notOk('token' in res.json(), 'no token the script could read');
  const jar = jarOf(res);
  t.match(jar.session, /^[A-Za-z0-9_-]{43}$/);
  const session = jar.setCookies.find((c) => c.startsWith('__Host-pgw_session='))!;
  for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) t.match(session, new RegExp(`; ${attr}(;|$)`), `session cookie ${attr}`);
  t.notMatch(session, /Domain=/i, '__Host-: no Domain');
  const csrf = jar.setCookies.find((c) => c.startsWith('__Host-pgw_csrf='))!;
  t.notMatch(csrf, /HttpOnly/, 'the CSRF cookie is for the page to read');
  t.match(csrf, /; Secure/);
  t.equal(jar.csrf, csrfTokenOf(jar.session));
  t.not(jar.csrf, jar.session);

  const me = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie: `__Host-pgw_session=${jar.session}` } });
  t.equal(me.statusCode, 200, 'a read needs the cookie only');
  t.equal(me.json().id, c.clientId);
});

t.test('cookie login without this origin is refused before any check and opens no session (login CSRF)', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const before = await sessionCount(gw);
  const origins: Record<string, string>[] = [{}, { origin: 'https://evil.example' }, { origin: `http://${HOST}` }, { origin: 'null' }, { origin: `${ORIGIN}.evil.example` }];
  for (const headers of origins) {
    const res = await cookieLogin(gw, c.phone, c.password, headers);
    t.equal(res.statusCode, 403, JSON.stringify(headers));
    t.equal(res.json().code, 'forbidden');
    t.notOk(res.headers['set-cookie'], 'no cookie set');
  }
  t.equal(await sessionCount(gw), before, 'no session opened');
});

t.test('a state-changing cookie request needs the Origin and the session\'s own CSRF token', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const jar = jarOf(await cookieLogin(gw, c.phone, c.password));
  const other = await registerClient(gw);
  const otherJar = jarOf(await cookieLogin(gw, other.phone, other.password));
  const cookie = `__Host-pgw_session=${jar.session}; __Host-pgw_csrf=${jar.csrf}`;
  const refusals: Array<[string, Record<string, string>]> = [
    ['no CSRF header (the cookie alone)', { cookie, origin: ORIGIN }],
    ['an empty CSRF header', { cookie, origin: ORIGIN, 'x-csrf-token': '' }],
    ['a wrong CSRF token', { cookie, origin: ORIGIN, 'x-csrf-token': jar.csrf.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) }],
    ['the session token itself as CSRF token', { cookie, origin: ORIGIN, 'x-csrf-token': jar.session }],
    ['another session\'s CSRF token', { cookie, origin: ORIGIN, 'x-csrf-token': otherJar.csrf }],
    ['no Origin', { cookie, 'x-csrf-token': jar.csrf }],
    ['a foreign Origin', { cookie, origin: 'https://evil.example', 'x-csrf-token': jar.csrf }],
    ['plain http Origin', { cookie, origin: `http://${HOST}`, 'x-csrf-token': jar.csrf }],
  ];
  for (const [name, headers] of refusals) {
    const res = await logout(gw, headers);
    t.equal(res.statusCode, 403, name);
    t.equal(res.json().code, 'forbidden', name);
  }
  const still = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie } });
  t.equal(still.statusCode, 200, 'no refused request changed anything: the session is alive');

  const ok = await logout(gw, { cookie, origin: ORIGIN, 'x-csrf-token': jar.csrf });
  t.equal(ok.statusCode, 204);
  const cleared = [ok.headers['set-cookie'] ?? []].flat();
  t.ok(cleared.some((c) => c.startsWith('__Host-pgw_session=;') && /Expires=Thu, 01 Jan 1970/.test(c)), 'logout clears the session cookie');
  const after = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie } });
  t.equal(after.statusCode, 401, 'and revokes the session');
});

t.test('Bearer clients are unchanged, and a Bearer header decides alone over any cookie', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  const jar = jarOf(await cookieLogin(gw, c.phone, c.password));
  const cookie = `__Host-pgw_session=${jar.session}`;
  const badBearer = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie, authorization: 'Bearer nope' } });
  t.equal(badBearer.statusCode, 401, 'a wrong Bearer token is not rescued by a valid cookie');
  const malformed = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie, authorization: 'Basic abc' } });
  t.equal(malformed.statusCode, 401);
  const bearer = await logout(gw, { authorization: `Bearer ${c.token}` });
  t.equal(bearer.statusCode, 204, 'Bearer needs no CSRF token or Origin');
  t.notOk(bearer.headers['set-cookie'], 'and gets no cookies');
  const plain = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: c.phone, password: c.password } });
  t.equal(plain.statusCode, 201);
  t.match(plain.json().token, /^[A-Za-z0-9_-]{43}$/, 'an API login still returns its token');
  t.notOk(plain.headers['set-cookie']);
});

t.test('an oversized or unknown session cookie is just unauthenticated', async (t) => {
  const gw = await buildTestGateway(t);
  for (const value of ['', 'A'.repeat(43), 'A'.repeat(5000)]) {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { host: HOST, cookie: `__Host-pgw_session=${value}` } });
    t.equal(res.statusCode, 401, `length ${value.length}`);
  }
});
