// `npm run vault:rotate-fingerprint-key` — fingerprint key rotation (PCI DSS 3.6.1, 3.7.4), online,
// in the order vault/README.md "Fingerprint key rotation" gives (restart every vault after --add
// and after --activate: the vault reads the key file once at boot):
//   --add             add a new version to VAULT_FINGERPRINT_KEY_FILE, not yet active: every vault
//                     then names each card under both versions, whichever it stores
//   --activate        make the newest version the active one (new cards are fingerprinted with it)
//   --refingerprint   recompute every stored card's fingerprint under the active version (the vault
//                     decrypts its own cards); the old value is kept for the gateway's translation
//   --retire <v>      after `npm run gateway:translate-fingerprints`: unregister version v, drop the
//                     kept old values and remove v from the file; refused while any card names it
//   --status          the file's versions and how many cards each fingerprints
import { fileURLToPath } from 'node:url';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { systemClock } from '../lib/clock.js';
import { loadVaultConfig } from '../vault/src/config.js';
import { createKeyProvider } from '../vault/src/context.js';
import { fingerprinter } from '../vault/src/crypto/fingerprint.js';
import { withNewestActive, withNewVersion, withoutVersion, writeFingerprintKeyFile } from '../vault/src/crypto/fingerprint-key-file.js';
import { refingerprintAll, registerFingerprintVersions, retireFingerprintVersion } from '../vault/src/fingerprint-rotation.js';
import { countByFingerprintVersion } from '../vault/src/storage/fingerprints.repository.js';
import { recordVaultAudit } from '../vault/src/audit.js';
import type { VaultDatabase } from '../vault/src/storage/database.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const operator = { identity: `operator:${process.env.USER ?? 'unknown'}` };

const env = await localDatabaseEnvOrExit(process.env, 'vault:rotate-fingerprint-key', ['VAULT_DATABASE_URL']);
const config = loadOrExit(() => loadVaultConfig(env));
const ring = config.fingerprintKeys;
const path = config.fingerprintKeyFile;
const db = createDb<VaultDatabase>(createPool(config.databaseUrl, { max: 2, applicationName: 'vault-rotate-fingerprint-key' }));
const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);

async function status(): Promise<void> {
  const versions = ring.keys.map((k) => k.version).sort((a, b) => a - b);
  say(`fingerprint key file ${path}: versions ${versions.join(', ')}, active ${ring.active}`);
  for (const [version, n] of [...await countByFingerprintVersion(db)].sort((a, b) => a[0] - b[0])) say(`  version ${version}: ${n} card(s)`);
}

async function main(): Promise<number> {
  await migrateToLatest(db, 'vault', fileURLToPath(new URL('../vault/src/migrations', import.meta.url)));
  const command = args[0];
  if (command === '--status') {
    await status();
  } else if (command === '--add') {
    const next = withNewVersion(ring);
    const version = Math.max(...next.keys.map((k) => k.version));
    writeFingerprintKeyFile(path, next);
    await registerFingerprintVersions(db, next, systemClock);
    await recordVaultAudit(db, systemClock, operator, { action: 'vault.fingerprint.add', outcome: 'success', targets: { keyVersion: version } });
    say(`added fingerprint key version ${version} (not active); restart every vault, then run --activate`);
  } else if (command === '--activate') {
    const next = withNewestActive(ring);
    if (next.active === ring.active) {
      say(`version ${ring.active} is already the newest and active; run --add first`);
      return 1;
    }
    writeFingerprintKeyFile(path, next);
    await recordVaultAudit(db, systemClock, operator, { action: 'vault.fingerprint.activate', outcome: 'success', targets: { keyVersion: next.active } });
    say(`fingerprint key version ${next.active} is active; restart every vault, then run --refingerprint`);
  } else if (command === '--refingerprint') {
    const keys = loadOrExit(() => createKeyProvider(config));
    try {
      const n = await refingerprintAll(db, keys, fingerprinter(ring), systemClock, operator,
        { batchSize: config.rewrapBatchSize, onBatch: (total) => say(`  re-fingerprinted ${total}`) });
      say(`re-fingerprinted ${n} card(s) under version ${ring.active}`);
    } finally {
      keys.close();
    }
    await status();
    say('next: npm run gateway:translate-fingerprints, then --retire <old version>');
  } else if (command === '--retire') {
    const version = Number(args[1]);
    if (!Number.isInteger(version) || version < 1) {
      say('--retire needs a version number');
      return 2;
    }
    const next = withoutVersion(ring, version);
    const retirement = await retireFingerprintVersion(db, systemClock, operator, version);
    if (!retirement.retired) {
      say('cards' in retirement
        ? `refused: ${retirement.cards} card(s) still use fingerprint key version ${version}; run --refingerprint first`
        : `refused: version ${version} is not registered below a newer one`);
      return 1;
    }
    writeFingerprintKeyFile(path, next);
    say(`fingerprint key version ${version} retired and removed from ${path}; restart every vault`);
  } else {
    say('usage: vault:rotate-fingerprint-key --status | --add | --activate | --refingerprint | --retire <version>');
    return 2;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`vault:rotate-fingerprint-key failed: ${(err as Error).message}\n`);
} finally {
  await db.destroy();
}
process.exit(code);
