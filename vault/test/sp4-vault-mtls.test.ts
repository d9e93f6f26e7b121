// SP-4: the vault accepts only mutual TLS with a certificate from the internal CA whose identity
// is on its allow-list. Proven against the real vault process on a real socket.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { issueCertificate, type KeyPair } from '../../lib/pki.js';
import { pkiFile, testPkiDir } from '../../test/support/pki.js';
import { startVaultProcess } from '../../test/support/vault.js';

const ca = pkiFile('ca.crt');
// TLS 1.3: the client's side of the handshake completes, then the vault refuses the certificate and closes.
const REFUSED = { name: 'SocketError', code: 'UND_ERR_SOCKET' };

async function get(url: string, client?: { cert: string | Buffer; key: string | Buffer }) {
  const agent = new Agent({ connect: { ca, ...(client ?? {}) } });
  try {
    const res = await request(`${url}/healthz`, { dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await agent.close();
  }
}

t.test('SP-4: vault mutual TLS', async (t) => {
  const vault = await startVaultProcess(t);
  const url = `https://127.0.0.1:${String(vault.ready.port)}`;
  const internalCa: KeyPair = {
    certPem: readFileSync(join(testPkiDir(), 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(testPkiDir(), 'ca.key'), 'utf8'),
  };

  t.test('accepts the gateway certificate', async (t) => {
    const res = await get(url, { cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key') });
    t.equal(res.status, 200);
  });

  t.test('refuses a client with no certificate at the handshake', async (t) => {
    await t.rejects(get(url), REFUSED);
  });

  t.test('refuses a certificate from another CA', async (t) => {
    const foreignCa = issueCertificate({ commonName: 'Some Other CA', usage: 'ca' });
    const impostor = issueCertificate({ commonName: 'gateway', usage: 'client', issuer: foreignCa });
    await t.rejects(get(url, { cert: impostor.certPem, key: impostor.keyPem }), REFUSED);
  });

  t.test('refuses an expired certificate from the internal CA', async (t) => {
    const day = 86_400_000;
    const expired = issueCertificate({
      commonName: 'gateway', usage: 'client', issuer: internalCa,
      notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day),
    });
    await t.rejects(get(url, { cert: expired.certPem, key: expired.keyPem }), REFUSED);
  });

  t.test('refuses a valid internal certificate whose identity is not allowed (admin)', async (t) => {
    const res = await get(url, { cert: pkiFile('admin.crt'), key: pkiFile('admin.key') });
    t.equal(res.status, 403);
    t.equal(JSON.parse(res.body).code, 'peer_not_allowed');
  });

  t.test('the refusals are logged without any key material', async (t) => {
    await vault.waitForOutput(/vault refused a client certificate/);
    await vault.waitForOutput(/vault refused a TLS handshake/);
    t.notMatch(vault.output(), /PRIVATE KEY/);
  });
});
