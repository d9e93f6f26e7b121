import t from 'tap';
import { buildTestGateway } from '../../test/support/gateway.js';

t.test('healthz answers; readyz names the vault as down when it is unreachable', async (t) => {
  const gw = await buildTestGateway(t);
  const health = await gw.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.same(ready.json(), { status: 'not_ready', checks: { postgres: 'ok', redis: 'ok', vault: 'down' } });
});

t.test('SP-2: a host name that is not configured is refused', async (t) => {
  const gw = await buildTestGateway(t);
  const res = await gw.app.inject({ method: 'GET', url: '/healthz', headers: { host: 'evil.example' } });
  t.equal(res.statusCode, 421);
  t.equal(res.json().code, 'host_not_allowed');
  t.match(res.headers['content-type'], /application\/problem\+json/);
});

t.test('unknown routes and malformed JSON get problem+json', async (t) => {
  const gw = await buildTestGateway(t);
  const missing = await gw.app.inject({ method: 'GET', url: '/nope' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'not_found');
});
