// `npm run pki`: writes the development PKI and keys under .data/ (existing PKI kept unless --force).
// `npm run pki -- --revoke FILE.crt …` revokes certificates of the development CA: pki/ca.crl is
// re-signed with them (and a missing ca.crl is written empty on any run).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_CRL_FILE, devPkiExists, generateDevPki, writeDevCrl } from '../lib/pki.js';
import { dataDir } from '../lib/paths.js';
import { ensureDevSecrets } from './dev-secrets.js';

const dir = join(dataDir(process.env), 'pki');
const force = process.argv.includes('--force');
const revokeAt = process.argv.indexOf('--revoke');
const revoke = revokeAt === -1 ? [] : process.argv.slice(revokeAt + 1).filter((a) => !a.startsWith('--'));
if (force || !devPkiExists(dir)) {
  generateDevPki(dir, {
    vaultHosts: (process.env.VAULT_CERT_HOSTS ?? 'vault,localhost,127.0.0.1').split(','),
    publicHosts: (process.env.PUBLIC_CERT_HOSTS ?? 'localhost,127.0.0.1,::1').split(','),
  });
  process.stdout.write(`development PKI written to ${dir}\n`);
} else {
  process.stdout.write(`development PKI already present in ${dir} (use --force to replace it)\n`);
}
if (revoke.length || !existsSync(join(dir, DEV_CRL_FILE))) {
  writeDevCrl(dir, revoke.map((f) => readFileSync(f)));
  process.stdout.write(`revocation list written to ${join(dir, DEV_CRL_FILE)}${revoke.length ? ` (revoked: ${revoke.join(', ')})` : ''}\n`);
}
const made = ensureDevSecrets(dataDir(process.env));
if (made.length) process.stdout.write(`development keys written: ${made.join(', ')}\n`);
