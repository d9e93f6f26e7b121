// `npm run vault:rotate-key` — KEK rotation (PCI DSS 3.6.1.2, 3.7.4) in the configured key provider:
// the key file in development, the PKCS#11 token (VAULT_KEY_PROVIDER=pkcs11) in production.
//   (no flag)         add a new KEK version (generated inside the token with PKCS#11), make it
//                     active, re-wrap every card online
//   --resume          re-wrap whatever is not yet under the active version (after an interruption)
//   --retire <v>      unregister version v and destroy its key (file or token); refused while any card
//                     names it, and afterwards no card can name it (rotation.ts retireKekVersion)
//   --status          how many cards each version wraps
// Running vaults pick up the new version within a second; new cards then use it. A version made
// by a key ceremony (`npm run vault:key-ceremony`) is re-wrapped to with --resume.
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { systemClock } from '../lib/clock.js';
import { loadVaultConfig } from '../vault/src/config.js';
import { KeyError } from '../vault/src/crypto/key-provider.js';
import { createKeyProvider } from '../vault/src/context.js';
import { recordsPerVersion, retireKekVersion, rewrapAll } from '../vault/src/rotation.js';
import { RegisteredKeyProvider } from '../vault/src/kek-versions.js';
import { recordVaultAudit } from '../vault/src/audit.js';
import type { VaultDatabase } from '../vault/src/storage/database.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const RELOAD_GRACE_MS = 2_500; // > the providers' 1 s reload check, so every vault wraps under the new version
const operator = { identity: `operator:${process.env.USER ?? 'unknown'}` };

const env = await localDatabaseEnvOrExit(process.env, 'vault:rotate-key', ['VAULT_DATABASE_URL']);
const config = loadOrExit(() => loadVaultConfig(env));
const db = createDb<VaultDatabase>(createPool(config.databaseUrl, { max: 2, applicationName: 'vault-rotate-key' }));
const say = (line: string) => process.stdout.write(`${line}\n`);
const args = process.argv.slice(2);
// Fails closed like the vault: a token that cannot be opened stops the command, naming the setting.
// With no flag on a fresh token, the first version is generated in it.
const provider = loadOrExit(() => createKeyProvider(config, { allowEmpty: process.argv.length === 2 }));

async function status(): Promise<void> {
  const counts = await recordsPerVersion(db);
  say(`active KEK version: ${provider.activeVersion()} (${provider.describe()})`);
  for (const [version, n] of [...counts].sort((a, b) => a[0] - b[0])) say(`  version ${version}: ${n} card(s)`);
}

// A card may name only a registered KEK version; wrapping under a new one registers it (kek-versions.ts).
const registeredKeys = () => new RegisteredKeyProvider(provider, db, systemClock);

async function rewrap(): Promise<void> {
  const keys = registeredKeys();
  const n = await rewrapAll(db, keys, systemClock, operator, { batchSize: config.rewrapBatchSize, onBatch: (total) => say(`  re-wrapped ${total}`) });
  say(`re-wrapped ${n} card(s) under version ${keys.activeVersion()}`);
}

async function main(): Promise<number> {
  await migrateToLatest(db, 'vault', fileURLToPath(new URL('../vault/src/migrations', import.meta.url)));
  if (args[0] === '--status') {
    await status();
  } else if (args[0] === '--resume') {
    await rewrap();
    await status();
  } else if (args[0] === '--retire') {
    const version = Number(args[1]);
    if (!Number.isInteger(version) || version < 1) throw new KeyError('--retire needs a version number');
    const keys = registeredKeys();
    if (version === keys.activeVersion()) throw new KeyError(`KEK version ${version} is the active version and cannot be retired`);
    // Only a version older than a registered one can be retired: register the active one first.
    await keys.register(keys.activeVersion());
    const retirement = await retireKekVersion(db, systemClock, operator, version);
    if (!retirement.retired) {
      say(`refused: ${retirement.cards} card(s) still use KEK version ${version}; run with --resume first`);
      return 1;
    }
    provider.removeVersion(version);
    say(`KEK version ${version} retired from ${provider.describe()}`);
  } else if (args.length === 0) {
    const version = provider.addVersion();
    await recordVaultAudit(db, systemClock, operator, { action: 'vault.key.rotate', outcome: 'success', targets: { keyVersion: version } });
    say(`added KEK version ${version} to ${provider.describe()} (check value ${provider.checkValue(version)}); waiting for running vaults to load it`);
    await sleep(RELOAD_GRACE_MS);
    await rewrap();
    // Cards written by a vault in the instant before it reloaded the file: one more pass.
    await sleep(RELOAD_GRACE_MS);
    await rewrap();
    await status();
    say('retire an old version with: npm run vault:rotate-key -- --retire <version>');
  } else {
    say('usage: vault:rotate-key [--status | --resume | --retire <version>]');
    return 2;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`vault:rotate-key failed: ${(err as Error).message}\n`);
} finally {
  provider.close();
  await db.destroy();
}
process.exit(code);
