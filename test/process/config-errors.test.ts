// A missing or malformed setting stops a process at boot with one line naming the setting.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import forge from 'node-forge';
import { testDataDir } from '../../test/support/pki.js';
import { runToExit } from '../../test/support/processes.js';

const base = { NODE_ENV: 'test', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };

// What a production host has in place of the development CA and SMS outbox, so that a production
// case reaches the setting it is about.
const scratch = mkdtempSync(join(tmpdir(), 'pgw-config-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
function bankCa(): string {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: 'Bank Internal CA' }, { name: 'organizationName', value: 'Example Bank' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const path = join(scratch, 'bank-ca.crt');
  writeFileSync(path, forge.pki.certificateToPem(cert));
  return path;
}
const smsToken = join(scratch, 'sms.token');
writeFileSync(smsToken, 'token');
const production = {
  NODE_ENV: 'production', INTERNAL_CA_FILE: bankCa(), SMS_HTTP_URL: 'https://sms.bank.example/v1/messages', SMS_HTTP_TOKEN_FILE: smsToken,
};

const cases: { entry: string; env: Record<string, string>; names: string }[] = [
  { entry: 'gateway/src/server.ts', env: { VAULT_URL: 'not-a-url' }, names: 'VAULT_URL' },
  { entry: 'gateway/src/server.ts', env: { VAULT_URL: 'http://127.0.0.1:8444' }, names: 'VAULT_URL' },
  { entry: 'gateway/src/server.ts', env: { GATEWAY_PORT: 'eighty' }, names: 'GATEWAY_PORT' },
  { entry: 'gateway/src/server.ts', env: { DATABASE_URL: '' }, names: 'DATABASE_URL' },
  { entry: 'gateway/src/server.ts', env: { TLS_CERT_FILE: '/nonexistent/public.crt' }, names: 'TLS_CERT_FILE' },
  { entry: 'vault/src/server.ts', env: { VAULT_HOST: '0.0.0.0' }, names: 'VAULT_HOST' },
  { entry: 'vault/src/server.ts', env: { VAULT_ALLOWED_IDENTITIES: ' , ' }, names: 'VAULT_ALLOWED_IDENTITIES' },
  { entry: 'vault/src/server.ts', env: { NODE_ENV: 'production' }, names: 'INTERNAL_CA_FILE' },
  // SP-18: the sandbox approves every card with no acquirer behind it.
  { entry: 'vault/src/server.ts', env: { ...production, VAULT_PROCESSOR: 'sandbox' }, names: 'VAULT_PROCESSOR' },
  { entry: 'vault/src/server.ts', env: production, names: 'VAULT_PROCESSOR' },
  // SP-18: nobody but the issuer's ACS authenticates a cardholder in production.
  { entry: 'gateway/src/server.ts', env: { ...production, THREE_DS_SANDBOX_PAGES: 'true' }, names: 'THREE_DS_SANDBOX_PAGES' },
  { entry: 'audit-worker/src/worker.ts', env: { REDIS_URL: 'localhost:6379' }, names: 'REDIS_URL' },
  // SP-11: no client may choose its IP; SP-4: the vault's address, its callers and the CRL.
  { entry: 'gateway/src/server.ts', env: { NODE_ENV: 'production', TRUST_PROXY: 'true' }, names: 'TRUST_PROXY' },
  { entry: 'gateway/src/server.ts', env: { TRUST_PROXY: '10.0.0.0/33' }, names: 'TRUST_PROXY' },
  { entry: 'gateway/src/server.ts', env: { INTERNAL_CRL_FILE: 'pki/ca.crt' }, names: 'INTERNAL_CRL_FILE' },
  { entry: 'vault/src/server.ts', env: { VAULT_HOST: '8.8.8.8' }, names: 'VAULT_HOST' },
  { entry: 'vault/src/server.ts', env: { VAULT_ALLOWED_IDENTITIES: 'gateway' }, names: 'VAULT_ALLOWED_IDENTITIES' },
  { entry: 'audit-worker/src/worker.ts', env: { AUDIT_EXPORT_HOST: '0.0.0.0' }, names: 'AUDIT_EXPORT_HOST' },
  // A `:` in the prefix would split BullMQ's key names.
  { entry: 'gateway/src/server.ts', env: { BULLMQ_PREFIX: 'pgw:x' }, names: 'BULLMQ_PREFIX' },
  { entry: 'audit-worker/src/worker.ts', env: { NODE_ENV: 'production' }, names: 'INTERNAL_CA_FILE' },
  { entry: 'gateway/src/server.ts', env: { AUDIT_EXPORT_URL: 'http://127.0.0.1:8447' }, names: 'AUDIT_EXPORT_URL' },
];

// Each case is a separate process that fails at boot; run them side by side.
const results = Promise.all(cases.map((c) => runToExit(c.entry, { ...base, ...c.env })));

cases.forEach((c, i) => {
  t.test(`${c.entry} with ${JSON.stringify(c.env)} stops naming ${c.names}`, async (t) => {
    const { code, output } = (await results)[i]!;
    t.equal(code, 1);
    t.match(output, new RegExp(`^config error: invalid setting ${c.names}: `, 'm'));
    t.equal(output.trim().split('\n').length, 1, 'one line');
  });
});
