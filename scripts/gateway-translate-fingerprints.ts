// `npm run gateway:translate-fingerprints` — step 3 of a fingerprint key rotation (vault/README.md
// "Fingerprint key rotation"): after `npm run vault:rotate-fingerprint-key -- --refingerprint`,
// rewrites the fingerprints the gateway stored under the old key version to the active one, asking
// the vault over mutual TLS with the gateway's own settings. Safe to run again.
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool } from '../lib/db.js';
import { createVaultClient } from '../lib/vault-client.js';
import { loadGatewayConfig } from '../gateway/src/config.js';
import type { GatewayDatabase } from '../gateway/src/database.js';
import { translateFingerprints } from '../gateway/src/payments/fingerprint-translation.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const env = await localDatabaseEnvOrExit(process.env, 'gateway:translate-fingerprints', ['DATABASE_URL']);
const config = loadOrExit(() => loadGatewayConfig(env));
const db = createDb<GatewayDatabase>(createPool(config.databaseUrl, { max: 2, applicationName: 'gateway-translate-fingerprints' }));
const vault = createVaultClient(config.vault);
const say = (line: string) => process.stdout.write(`${line}\n`);

let code = 1;
try {
  const result = await translateFingerprints(db, vault, { onPage: (r) => say(`  ${r.pairs} pair(s) read`) });
  say(`translated ${result.cards} saved card(s) and ${result.months} card month(s) from ${result.pairs} pair(s)`);
  say('next, 24 hours after --activate at the earliest: npm run vault:rotate-fingerprint-key -- --retire <old version>');
  code = 0;
} catch (err) {
  process.stderr.write(`gateway:translate-fingerprints failed: ${(err as Error).message}\n`);
} finally {
  await vault.close();
  await db.destroy();
}
process.exit(code);
