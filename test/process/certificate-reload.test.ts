// Certificate reload on SIGHUP (issue 17 item 6, SP-1, SP-4): the gateway's public and staff
// listeners take new certificate, key, CA and revocation-list files for new connections while
// kept-alive connections go on; a bad new file is refused and the listeners keep what they had.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startGatewayProcess } from '../support/gateway.js';
import { testDataDir } from '../support/pki.js';
import { keptAlive, servedSerial } from '../support/tls-reload.js';
import { DEV_CRL_FILE, issueCertificate, writeDevCrl } from '../../lib/pki.js';

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
