// A missing or malformed setting stops a process at boot with one line naming the setting.
import t from 'tap';
import { testDataDir } from '../../test/support/pki.js';
import { runToExit } from '../../test/support/processes.js';

const base = { NODE_ENV: 'test', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' };

const cases: { entry: string; env: Record<string, string>; names: string }[] = [
  { entry: 'gateway/src/server.ts', env: { VAULT_URL: 'not-a-url' }, names: 'VAULT_URL' },
  { entry: 'gateway/src/server.ts', env: { VAULT_URL: 'http://127.0.0.1:8444' }, names: 'VAULT_URL' },
  { entry: 'gateway/src/server.ts', env: { GATEWAY_PORT: 'eighty' }, names: 'GATEWAY_PORT' },
  { entry: 'gateway/src/server.ts', env: { DATABASE_URL: '' }, names: 'DATABASE_URL' },
  { entry: 'gateway/src/server.ts', env: { TLS_CERT_FILE: '/nonexistent/public.crt' }, names: 'TLS_CERT_FILE' },
  { entry: 'vault/src/server.ts', env: { VAULT_HOST: '0.0.0.0' }, names: 'VAULT_HOST' },
  { entry: 'vault/src/server.ts', env: { VAULT_ALLOWED_IDENTITIES: ' , ' }, names: 'VAULT_ALLOWED_IDENTITIES' },
  { entry: 'vault/src/server.ts', env: { NODE_ENV: 'production' }, names: 'INTERNAL_CA_FILE' },
  { entry: 'audit-worker/src/worker.ts', env: { REDIS_URL: 'localhost:6379' }, names: 'REDIS_URL' },
  // SP-11: no client may choose its IP; SP-4: the vault's address, its callers and the CRL.
  { entry: 'gateway/src/server.ts', env: { NODE_ENV: 'production', TRUST_PROXY: 'true' }, names: 'TRUST_PROXY' },
  { entry: 'gateway/src/server.ts', env: { TRUST_PROXY: '10.0.0.0/33' }, names: 'TRUST_PROXY' },
  { entry: 'gateway/src/server.ts', env: { INTERNAL_CRL_FILE: 'pki/ca.crt' }, names: 'INTERNAL_CRL_FILE' },
  { entry: 'vault/src/server.ts', env: { VAULT_HOST: '8.8.8.8' }, names: 'VAULT_HOST' },
  { entry: 'vault/src/server.ts', env: { VAULT_ALLOWED_IDENTITIES: 'gateway' }, names: 'VAULT_ALLOWED_IDENTITIES' },
  { entry: 'audit-worker/src/worker.ts', env: { AUDIT_EXPORT_HOST: '0.0.0.0' }, names: 'AUDIT_EXPORT_HOST' },
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
