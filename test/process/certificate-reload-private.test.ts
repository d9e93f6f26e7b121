// Certificate reload on SIGHUP for the private mutual-TLS listeners (issue 17 item 6, SP-4): the
// vault takes a new server certificate and a CRL revoking the gateway's certificate, the
// audit-worker's export listener a new server certificate; kept-alive connections go on.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startVaultProcess } from '../support/vault.js';
import { startAuditWorkerProcess } from '../support/audit-worker.js';
import { freshDatabaseUrl, migrateDatabase } from '../support/database.js';
import { uniqueName } from '../support/redis.js';
import { testDataDir } from '../support/pki.js';
import { keptAlive, servedSerial } from '../support/tls-reload.js';
import { DEV_CRL_FILE, issueCertificate, writeDevCrl } from '../../lib/pki.js';

/** A private copy of the test PKI and keys, so a test can replace files. */
function dataDirCopy(t: { teardown(fn: () => unknown): void }) {
  const data = mkdtempSync(join(tmpdir(), 'pgw-reload-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  cpSync(testDataDir(), data, { recursive: true });
  const pki = join(data, 'pki');
  const file = (name: string) => readFileSync(join(pki, name));
  const issuer = { certPem: file('ca.crt').toString(), keyPem: file('ca.key').toString() };
  const replaceServerCertificate = (name: string) => {
    const pair = issueCertificate({ commonName: name, usage: 'server', issuer, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    writeFileSync(join(pki, `${name}.crt`), pair.certPem);
    writeFileSync(join(pki, `${name}.key`), pair.keyPem);
  };
  return { data, pki, file, replaceServerCertificate };
}

t.test('vault: SIGHUP serves a new certificate and refuses a gateway certificate revoked in the reloaded CRL (SP-4)', async (t) => {
  const { data, pki, file, replaceServerCertificate } = dataDirCopy(t);
  const gateway = { ca: file('ca.crt'), cert: file('gateway.crt'), key: file('gateway.key') };
  const vault = await startVaultProcess(t, { DATA_DIR: data, INTERNAL_CRL_FILE: join(pki, DEV_CRL_FILE), LOG_LEVEL: 'info' });
  const port = vault.ready.port as number;
  const oldSerial = await servedSerial(port, gateway);
  t.match(oldSerial, /^[0-9A-F]+$/, 'the gateway certificate gets an answer before its revocation');
  const conn = keptAlive(port, gateway);
  t.teardown(() => conn.close());
  const before = await conn.status();

  replaceServerCertificate('vault');
  writeDevCrl(pki, [gateway.cert]);
  vault.child.kill('SIGHUP');
  await vault.waitForOutput(/certificates reloaded/);

  t.match(await servedSerial(port, gateway), /^refused/, 'the revoked gateway certificate is refused on a new connection');
  const admin = { ca: gateway.ca, cert: file('admin.crt'), key: file('admin.key') };
  const newSerial = await servedSerial(port, admin);
  t.match(newSerial, /^[0-9A-F]+$/);
  t.not(newSerial, oldSerial, 'a new connection is served the new vault certificate');
  t.equal(await conn.status(), before, 'the kept-alive connection still answers');
  t.equal(conn.connects(), 1, 'on the same connection');
});

t.test('audit-worker export listener: SIGHUP serves a new certificate; a bad file keeps the old one', async (t) => {
  const { data, pki, file, replaceServerCertificate } = dataDirCopy(t);
  const url = await freshDatabaseUrl(t);
  await migrateDatabase(url, ['audit']);
  const gateway = { ca: file('ca.crt'), cert: file('gateway.crt'), key: file('gateway.key') };
  const worker = await startAuditWorkerProcess(t, url, uniqueName('audit'), { DATA_DIR: data, LOG_LEVEL: 'info' });
  const port = worker.ready.exportPort as number;
  const oldSerial = await servedSerial(port, gateway);
  t.match(oldSerial, /^[0-9A-F]+$/);
  const conn = keptAlive(port, gateway);
  t.teardown(() => conn.close());
  const before = await conn.status();

  replaceServerCertificate('audit');
  worker.child.kill('SIGHUP');
  await worker.waitForOutput(/certificates reloaded/);
  const newSerial = await servedSerial(port, gateway);
  t.match(newSerial, /^[0-9A-F]+$/);
  t.not(newSerial, oldSerial, 'a new connection is served the new export certificate');
  t.equal(await conn.status(), before, 'the kept-alive connection still answers');
  t.equal(conn.connects(), 1, 'on the same connection');

  writeFileSync(join(pki, 'audit.crt'), 'not a certificate');
  worker.child.kill('SIGHUP');
  await worker.waitForOutput(/certificate reload refused/);
  t.equal(await servedSerial(port, gateway), newSerial, 'after a bad file the listener serves the last good certificate');
});
