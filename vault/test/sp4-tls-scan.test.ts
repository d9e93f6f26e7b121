// SP-4 / SP-1: the vault's mutual-TLS listener as a PCI DSS auditor's scanner sees it. testssl.sh
// scans the real vault process without a client certificate (3.0.8 cannot send one), which the
// protocol, cipher and forward-secrecy checks do not need: they read the server's side of the
// handshake. The HTTP header checks are left out: without a certificate there is no HTTP answer,
// which sp4-vault-mtls.test.ts proves.
import { scanTls } from '../../scripts/testssl.js';
import { startVaultProcess } from '../../test/support/vault.js';
import { assertSp1Findings, scanTest } from '../../test/support/tls-scan.js';

scanTest('SP-4: testssl.sh scan of the vault listener', async (t) => {
  const vault = await startVaultProcess(t);
  const findings = await scanTls(`127.0.0.1:${String(vault.ready.port)}`, { headers: false });
  assertSp1Findings(t, findings);
});
