// SP-1 / SP-17: the gateway's listeners as PCI DSS auditors see them. testssl.sh, the scanner they
// run, scans the real gateway process; independent of our own handshake test
// (sp1-public-tls.test.ts), it judges each listener with its own client and reports the ids
// auditors quote. The staff listener demands a client certificate, which testssl 3.0.8 cannot
// send: its TLS checks read the server's side of the handshake, and the header checks are left out.
// The vault's mutual-TLS listener has its own scan (vault/test/sp4-tls-scan.test.ts).
import { scanTls } from '../../scripts/testssl.js';
import { startGatewayProcess } from '../../test/support/gateway.js';
import { assertSp1Findings, scanTest } from '../../test/support/tls-scan.js';

scanTest('SP-1: testssl.sh scans of the gateway listeners', async (t) => {
  const gateway = await startGatewayProcess(t);
  const { publicPort, adminPort } = gateway.ready;
  const [publicFindings, staffFindings] = await Promise.all([
    scanTls(`127.0.0.1:${String(publicPort)}`),
    scanTls(`127.0.0.1:${String(adminPort)}`, { headers: false }),
  ]);

  t.test('public listener', async (t) => {
    const byId = assertSp1Findings(t, publicFindings);
    t.equal(byId.get('HSTS_time')?.severity, 'OK', 'HSTS_time: max-age of at least 180 days');
  });
  t.test('staff listener', async (t) => {
    assertSp1Findings(t, staffFindings);
  });
});
