import t from 'tap';
import { buildTestGateway } from '../../test/support/gateway.js';
import { listenAdmin } from '../../test/support/admin.js';

t.test('the admin listener serves only allow-listed staff certificates', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  t.equal((await admin.call('GET', '/healthz', undefined, 'admin')).status, 200, 'admin certificate accepted');
  const asGateway = await admin.call('GET', '/healthz', undefined, 'gateway');
  t.equal(asGateway.status, 403, 'a valid internal certificate that is not on the allow-list is refused');
  t.equal(asGateway.json().code, 'peer_not_allowed');
  await t.rejects(admin.call('GET', '/healthz', undefined, 'none'), { name: 'SocketError', code: 'UND_ERR_SOCKET' }, 'no client certificate: refused at the handshake');
});
