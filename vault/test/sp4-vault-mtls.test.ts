// SP-4: the vault accepts only mutual TLS with a certificate from the internal CA whose identity
// is on its allow-list. Proven against the real vault process on a real socket.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { certificateSerial, GATEWAY_SERVICE_IDENTITY, issueCertificate, issueCrl, type KeyPair } from '../../lib/pki.js';
import { pkiFile, testDataDir, testPkiDir } from '../../test/support/pki.js';
import { startVaultProcess } from '../../test/support/vault.js';
import { loadVaultConfig } from '../src/config.js';

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

const internalCa: KeyPair = {
  certPem: readFileSync(join(testPkiDir(), 'ca.crt'), 'utf8'),
  keyPem: readFileSync(join(testPkiDir(), 'ca.key'), 'utf8'),
};

// What a client sees when the vault refuses its certificate during the handshake: TLS 1.3 reports
// the server's alert (or the closed socket) on the first request.
const HANDSHAKE_REFUSED = { code: /^(ERR_SSL_|ECONNRESET$|UND_ERR_SOCKET$|EPIPE$)/ };

t.test('SP-4: vault mutual TLS', async (t) => {
  // A service certificate as good as the gateway's, revoked on the internal CA's list.
  const revoked = issueCertificate({ commonName: 'gateway', usage: 'client', issuer: internalCa, uris: [GATEWAY_SERVICE_IDENTITY] });
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-crl-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const crlFile = join(scratch, 'internal.crl');
  writeFileSync(crlFile, issueCrl({ issuer: internalCa, revoked: [{ serial: certificateSerial(revoked.certPem), at: new Date() }] }));
  const vault = await startVaultProcess(t, { INTERNAL_CRL_FILE: crlFile });
  const url = `https://127.0.0.1:${String(vault.ready.port)}`;

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

  t.test('refuses a revoked certificate at the handshake (INTERNAL_CRL_FILE)', async (t) => {
    await t.rejects(get(url, { cert: revoked.certPem, key: revoked.keyPem }), HANDSHAKE_REFUSED);
    t.equal((await get(url, { cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key') })).status, 200, 'the gateway\'s is not revoked');
  });

  t.test('refuses a staff certificate whose common name is gateway (no service URI)', async (t) => {
    const staff = issueCertificate({ commonName: 'gateway', usage: 'client', issuer: internalCa });
    const res = await get(url, { cert: staff.certPem, key: staff.keyPem });
    t.equal(res.status, 403);
    t.equal(JSON.parse(res.body).code, 'peer_not_allowed');
  });

  t.test('refuses a certificate with the service URI but not issued for clientAuth', async (t) => {
    const noUsage = issueCertificate({
      commonName: 'gateway', usage: 'client', issuer: internalCa, uris: [GATEWAY_SERVICE_IDENTITY], extKeyUsage: {},
    });
    const res = await get(url, { cert: noUsage.certPem, key: noUsage.keyPem });
    t.equal(res.status, 403, 'no extended key usage: TLS lets it through, the allow-list does not');
    t.equal(JSON.parse(res.body).code, 'peer_not_allowed');
    const serverOnly = issueCertificate({
      commonName: 'gateway', usage: 'client', issuer: internalCa, uris: [GATEWAY_SERVICE_IDENTITY], extKeyUsage: { serverAuth: true },
    });
    await t.rejects(get(url, { cert: serverOnly.certPem, key: serverOnly.keyPem }), HANDSHAKE_REFUSED, 'serverAuth only: refused by TLS');
  });

  t.test('refuses a service URI that is not on the allow-list', async (t) => {
    const other = issueCertificate({ commonName: 'gateway', usage: 'client', issuer: internalCa, uris: ['spiffe://payments.internal/reports'] });
    t.equal((await get(url, { cert: other.certPem, key: other.keyPem })).status, 403);
  });

  t.test('the refusals are logged without any key material', async (t) => {
    await vault.waitForOutput(/vault refused a client certificate/);
    await vault.waitForOutput(/vault refused a TLS handshake/);
    t.notMatch(vault.output(), /PRIVATE KEY/);
  });
});

t.test('SP-4: VAULT_HOST must be loopback or a private address; the allow-list names service URIs', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };
  const load = (env: Record<string, string>) => loadVaultConfig({ ...base, ...env });
  for (const host of ['127.0.0.1', 'localhost', '10.20.0.21', '172.31.255.1', '192.168.1.5', '::1', 'fd12:3456::1', '::ffff:10.0.0.1']) {
    t.equal(load({ VAULT_HOST: host }).listener.host, host, `${host} is accepted`);
  }
  for (const host of ['8.8.8.8', '172.32.0.1', '11.0.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'vault.example.com', '0.0.0.0', '::']) {
    t.throws(() => load({ VAULT_HOST: host }), { name: 'ConfigError', setting: 'VAULT_HOST' }, `${host} is refused`);
  }
  t.same(load({}).listener.allowedIdentities, [GATEWAY_SERVICE_IDENTITY], 'the default names the gateway\'s URI');
  t.throws(() => load({ VAULT_ALLOWED_IDENTITIES: 'gateway' }), { name: 'ConfigError', setting: 'VAULT_ALLOWED_IDENTITIES' },
    'a bare common name is refused');
  const notCrl = join(testPkiDir(), 'ca.crt');
  t.throws(() => load({ INTERNAL_CRL_FILE: notCrl }), { name: 'ConfigError', setting: 'INTERNAL_CRL_FILE' }, 'a file that is not a CRL');
  t.ok(load({ INTERNAL_CRL_FILE: 'pki/ca.crl' }).listener.crl, 'the development CRL, relative to DATA_DIR');
});
