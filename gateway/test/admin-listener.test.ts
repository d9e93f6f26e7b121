import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { certificateSerial, GATEWAY_SERVICE_IDENTITY, issueCertificate, issueCrl, type KeyPair } from '../../lib/pki.js';
import { buildTestGateway } from '../../test/support/gateway.js';
import { listenAdmin } from '../../test/support/admin.js';
import { pkiFile, testPkiDir } from '../../test/support/pki.js';

const internalCa: KeyPair = {
  certPem: readFileSync(join(testPkiDir(), 'ca.crt'), 'utf8'),
  keyPem: readFileSync(join(testPkiDir(), 'ca.key'), 'utf8'),
};

async function healthzAs(url: string, client: KeyPair): Promise<number> {
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), cert: client.certPem, key: client.keyPem, servername: 'localhost' } });
  try {
    const res = await request(`${url}/healthz`, { dispatcher: agent });
    await res.body.text();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

t.test('the admin listener serves only allow-listed staff certificates', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  t.equal((await admin.call('GET', '/healthz', undefined, 'admin')).status, 200, 'admin certificate accepted');
  const asGateway = await admin.call('GET', '/healthz', undefined, 'gateway');
  t.equal(asGateway.status, 403, 'a valid internal certificate that is not on the allow-list is refused');
  t.equal(asGateway.json().code, 'peer_not_allowed');
  await t.rejects(admin.call('GET', '/healthz', undefined, 'none'), { name: 'SocketError', code: 'UND_ERR_SOCKET' }, 'no client certificate: refused at the handshake');
});

t.test('SP-4: a staff identity is the common name of a clientAuth certificate without a service URI', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const service = issueCertificate({ commonName: 'admin', usage: 'client', issuer: internalCa, uris: [GATEWAY_SERVICE_IDENTITY] });
  t.equal(await healthzAs(admin.url, service), 403, 'a service certificate named admin is not staff');
  const noUsage = issueCertificate({ commonName: 'admin', usage: 'client', issuer: internalCa, extKeyUsage: {} });
  t.equal(await healthzAs(admin.url, noUsage), 403, 'a certificate not issued for clientAuth is refused');
  const fresh = issueCertificate({ commonName: 'admin', usage: 'client', issuer: internalCa });
  t.equal(await healthzAs(admin.url, fresh), 200, 'a proper staff certificate is accepted');
});

t.test('SP-4: a revoked staff certificate is refused at the handshake (INTERNAL_CRL_FILE)', async (t) => {
  const revoked = issueCertificate({ commonName: 'admin', usage: 'client', issuer: internalCa });
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-crl-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const crlFile = join(scratch, 'internal.crl');
  writeFileSync(crlFile, issueCrl({ issuer: internalCa, revoked: [{ serial: certificateSerial(revoked.certPem), at: new Date() }] }));
  const gw = await buildTestGateway(t, { env: { INTERNAL_CRL_FILE: crlFile } });
  const admin = await listenAdmin(t, gw.ctx);
  await t.rejects(healthzAs(admin.url, revoked), { code: /^(ERR_SSL_|ECONNRESET$|UND_ERR_SOCKET$|EPIPE$)/ });
  t.equal((await admin.call('GET', '/healthz', undefined, 'admin')).status, 200, 'a staff certificate not on the list still works');
});
