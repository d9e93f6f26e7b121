// `npm run vault:key-ceremony` — split knowledge and dual control of a KEK (PCI DSS 3.6.1.2, 3.7.6)
// in the configured key provider (the PKCS#11 token; the key file in development):
//   create --custodians alice,bob,carol,dave,erin --threshold 3 [--scheme shamir|xor] --out-dir DIR
//       makes a KEK, imports it as the next version, and writes each custodian's component to
//       DIR/<custodian>.component (0600) — to be handed to that custodian alone; the console shows
//       components masked, with their check values
//   import [--share NAME=FILE ...] [--kcv HEX]
//       assembles a KEK from components entered by at least two named custodians (from files, or
//       typed at the prompt when no --share is given) and imports it as the next version
// Every step is written to vault.audit_outbox (custodians' names and check values, never key
// material). Re-wrap the cards under the new version with `npm run vault:rotate-key -- --resume`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { systemClock } from '../lib/clock.js';
import { loadVaultConfig } from '../vault/src/config.js';
import { createKeyProvider } from '../vault/src/context.js';
import { recordVaultAudit } from '../vault/src/audit.js';
import { createKek, importKek, maskComponent, type CeremonyStep, type Entry, type Scheme } from '../vault/src/crypto/key-ceremony.js';
import type { VaultDatabase } from '../vault/src/storage/database.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const env = await localDatabaseEnvOrExit(process.env, 'vault:key-ceremony', ['VAULT_DATABASE_URL']);
const config = loadOrExit(() => loadVaultConfig(env));
const db = createDb<VaultDatabase>(createPool(config.databaseUrl, { max: 1, applicationName: 'vault-key-ceremony' }));
const say = (line: string) => process.stdout.write(`${line}\n`);
const provider = loadOrExit(() => createKeyProvider(config, { allowEmpty: true }));
const operator = { identity: `operator:${process.env.USER ?? 'unknown'}` };

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    custodians: { type: 'string' }, threshold: { type: 'string' }, scheme: { type: 'string', default: 'shamir' },
    'out-dir': { type: 'string' }, share: { type: 'string', multiple: true }, kcv: { type: 'string' },
  },
});

async function audit(step: CeremonyStep): Promise<void> {
  const outcome = step.step.endsWith('_refused') ? 'failure' : 'success';
  await recordVaultAudit(db, systemClock, operator, {
    action: `vault.key.ceremony.${step.step}`,
    outcome,
    targets: step.keyVersion ? { keyVersion: step.keyVersion } : {},
    details: { custodians: step.custodians.join(','), ...(step.kcv ? { checkValue: step.kcv } : {}), ...(step.reason ? { reason: step.reason } : {}) },
  });
  say(`  [audited] ${step.step}: ${step.custodians.join(', ')}${step.kcv ? ` KCV ${step.kcv}` : ''}`);
}

async function create(): Promise<number> {
  const custodians = (values.custodians ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const outDir = values['out-dir'];
  if (!outDir) throw new Error('create needs --out-dir (one component file per custodian)');
  const scheme = values.scheme as Scheme;
  if (scheme !== 'shamir' && scheme !== 'xor') throw new Error('--scheme is shamir or xor');
  const threshold = Number(values.threshold ?? (scheme === 'xor' ? custodians.length : NaN));
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const { version, kcv, issued } = await createKek(provider, scheme, threshold, custodians, audit);
  say(`KEK version ${version} created in ${provider.describe()}: check value ${kcv} (${scheme}, ${threshold} of ${custodians.length})`);
  for (const { custodian, component, kcv: componentKcv } of issued) {
    const file = join(outDir, `${custodian}.component`);
    writeFileSync(file, `${component}\n`, { mode: 0o600 });
    say(`  ${custodian}: ${maskComponent(component)} (KCV ${componentKcv}) → ${file}`);
  }
  say('hand each file to its custodian alone; re-wrap the cards with: npm run vault:rotate-key -- --resume');
  return 0;
}

async function promptEntries(): Promise<Entry[]> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const entries: Entry[] = [];
  try {
    for (;;) {
      const custodian = (await rl.question('custodian name (empty to finish): ')).trim();
      if (!custodian) return entries;
      entries.push({ custodian, component: await rl.question(`${custodian}, enter your component: `) });
    }
  } finally {
    rl.close();
  }
}

async function importFromCustodians(): Promise<number> {
  const entries = values.share?.length
    ? values.share.map((spec) => {
      const at = spec.indexOf('=');
      if (at < 1) throw new Error('--share takes NAME=FILE');
      return { custodian: spec.slice(0, at), component: readFileSync(spec.slice(at + 1), 'utf8') };
    })
    : await promptEntries();
  const { version, kcv } = await importKek(provider, entries, audit, values.kcv);
  say(`KEK version ${version} imported into ${provider.describe()}: check value ${kcv}, entered by ${entries.map((e) => e.custodian).join(', ')}`);
  say('re-wrap the cards with: npm run vault:rotate-key -- --resume');
  return 0;
}

let code = 1;
try {
  await migrateToLatest(db, 'vault', fileURLToPath(new URL('../vault/src/migrations', import.meta.url)));
  if (positionals[0] === 'create') code = await create();
  else if (positionals[0] === 'import') code = await importFromCustodians();
  else {
    say('usage: vault:key-ceremony create --custodians a,b,c --threshold 2 [--scheme shamir|xor] --out-dir DIR | import [--share NAME=FILE ...] [--kcv HEX]');
    code = 2;
  }
} catch (err) {
  process.stderr.write(`vault:key-ceremony failed: ${(err as Error).message}\n`);
} finally {
  provider.close();
  await db.destroy();
}
process.exit(code);
