// `npm run pki`: writes the development PKI and keys under .data/ (existing PKI kept unless --force).
import { join } from 'node:path';
import { devPkiExists, generateDevPki } from '../lib/pki.js';
import { dataDir } from '../lib/paths.js';
import { ensureDevSecrets } from './dev-secrets.js';

const dir = join(dataDir(process.env), 'pki');
const force = process.argv.includes('--force');
if (force || !devPkiExists(dir)) {
  generateDevPki(dir, {
    vaultHosts: (process.env.VAULT_CERT_HOSTS ?? 'vault,localhost,127.0.0.1').split(','),
    publicHosts: (process.env.PUBLIC_CERT_HOSTS ?? 'localhost,127.0.0.1,::1').split(','),
  });
  process.stdout.write(`development PKI written to ${dir}\n`);
} else {
  process.stdout.write(`development PKI already present in ${dir} (use --force to replace it)\n`);
}
const made = ensureDevSecrets(dataDir(process.env));
if (made.length) process.stdout.write(`development keys written: ${made.join(', ')}\n`);
