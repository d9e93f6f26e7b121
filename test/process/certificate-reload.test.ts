// Certificate reload on SIGHUP (issue 17 item 6, SP-1, SP-4): the gateway's public and staff
// listeners take new certificate, key, CA and revocation-list files for new connections while
// kept-alive connections go on; a bad new file is refused and the listeners keep what they had.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { Client } from 'undici';
import { startGatewayProcess } from '../support/gateway.js';
import { testDataDir } from '../support/pki.js';
import { DEV_CRL_FILE, issueCertificate, writeDevCrl } from '../../lib/pki.js';

/** The serial of the certificate a new connection to `port` is served, or `refused` and why. */
function servedSerial(port: number, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...tls }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      // TLS 1.3 sends a refusal of the client certificate after the handshake: wait for it.
      socket.once('error', (err: Error & { code?: string }) => resolve(`refused: ${err.code ?? err.message}`));
      socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString(); });
      socket.once('end', () => resolve(answer.startsWith('HTTP/1.1') ? serial : 'refused: closed without an answer'));
    });
    socket.once('error', (err: Error & { code?: string }) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

/** One kept-alive connection; counts how often it had to connect. */
function keptAlive(port: number, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }) {
  const client = new Client(`https://127.0.0.1:${String(port)}`, { connect: { servername: 'localhost', ...tls }, keepAliveTimeout: 600_000 });
  let connects = 0;
  client.on('connect', () => { connects += 1; });
  return {
    async status() {
      const res = await client.request({ path: '/healthz', method: 'GET' });
      await res.body.text();
      return res.statusCode;
    },
    connects: () => connects,
    close: () => client.close(),
  };
}

t.test('SIGHUP reloads the public certificate and the staff CRL for new connections; open connections go on (SP-1, SP-4)', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'pgw-reload-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  cpSync(testDataDir(), data, { recursive: true });
  const pki = join(data, 'pki');
  const file = (name: string) => readFileSync(join(pki, name));
  const ca = file('ca.crt');
  const admin = { ca, cert: file('admin.crt'), key: file('admin.key') };

  const gw = await startGatewayProcess(t, { DATA_DIR: data, INTERNAL_CRL_FILE: join(pki, DEV_CRL_FILE), LOG_LEVEL: 'info' });
  const publicPort = gw.ready.publicPort as number;
  const adminPort = gw.ready.adminPort as number;
  const oldSerial = await servedSerial(publicPort, { ca });
  t.match(oldSerial, /^[0-9A-F]+$/, 'the public listener serves the first certificate');
  t.match(await servedSerial(adminPort, admin), /^[0-9A-F]+$/, 'the staff certificate is accepted before its revocation');

  const publicConn = keptAlive(publicPort, { ca });
  const staffConn = keptAlive(adminPort, admin);
  t.teardown(() => Promise.all([publicConn.close(), staffConn.close()]));
  t.equal(await publicConn.status(), 200);
  t.equal(await staffConn.status(), 200);

  // A new public certificate from the same CA, and the staff certificate revoked in the CRL.
  const issuer = { certPem: ca.toString(), keyPem: file('ca.key').toString() };
  const fresh = issueCertificate({ commonName: 'localhost', usage: 'server', issuer, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(pki, 'public.crt'), fresh.certPem);
  writeFileSync(join(pki, 'public.key'), fresh.keyPem);
  writeDevCrl(pki, [admin.cert]);
  gw.child.kill('SIGHUP');
  await gw.waitForOutput(/certificates reloaded/);

  const newSerial = await servedSerial(publicPort, { ca });
  t.not(newSerial, oldSerial, 'a new connection is served the new certificate');
  t.match(newSerial, /^[0-9A-F]+$/);
  t.match(await servedSerial(adminPort, admin), /^refused/, 'the revoked staff certificate is refused on a new connection');
  const other = issueCertificate({ commonName: 'admin', usage: 'client', issuer });
  t.match(await servedSerial(adminPort, { ca, cert: Buffer.from(other.certPem), key: Buffer.from(other.keyPem) }), /^[0-9A-F]+$/,
    'a staff certificate not revoked still gets in');
  t.equal(await publicConn.status(), 200, 'the kept-alive public connection still answers');
  t.equal(await staffConn.status(), 200, 'the kept-alive staff connection still answers');
  t.equal(publicConn.connects(), 1, 'on the same connection');
  t.equal(staffConn.connects(), 1, 'on the same connection');

  // A key that does not match its certificate: refused, every listener keeps what it serves.
  writeFileSync(join(pki, 'public.key'), issueCertificate({ commonName: 'x', usage: 'server', issuer }).keyPem);
  gw.child.kill('SIGHUP');
  await gw.waitForOutput(/certificate reload refused/);
  t.equal(await servedSerial(publicPort, { ca }), newSerial, 'after a bad file the public listener serves the last good certificate');
  t.match(await servedSerial(adminPort, admin), /^refused/, 'and the staff listener keeps the last good CRL');
  t.equal(await publicConn.status(), 200);
  t.equal(gw.child.exitCode, null, 'the gateway is still running');
});
