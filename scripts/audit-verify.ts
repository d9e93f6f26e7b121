// `npm run audit:verify` — checks the whole audit chain, its signed checkpoints (the database's
// and the external copy in AUDIT_CHECKPOINT_FILE) and retention records; prints "intact" with the
// count, or the first damaged record and the kind of damage, and exits 1 (SP-21).
// `npm run audit:verify -- --export FILE` checks an investigator's export offline (SP-20): no
// database, only the file and the published public keys (AUDIT_PUBLIC_KEY_FILE: the current key
// and every retired one whose records are kept; a signature by any other key fails). It names the
// first bad line and the kind of damage (added, dropped, reordered, altered, unsigned, …).
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool } from '../lib/db.js';
import type { SignedCheckpoint } from '../lib/audit/chain.js';
import { verifyAuditExport } from '../lib/audit/export.js';
import { loadAuditToolConfig } from '../audit-worker/src/config.js';
import { verifyChain } from '../audit-worker/src/verify.js';
import type { AuditDatabase } from '../audit-worker/src/database.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const { values } = parseArgs({ options: { export: { type: 'string' }, checkpoints: { type: 'string' } } });
// An export is checked offline: only the chain walk needs a database.
const env = values.export ? process.env : await localDatabaseEnvOrExit(process.env, 'audit:verify', ['AUDIT_DATABASE_URL']);
const config = loadOrExit(() => loadAuditToolConfig(env));
const publicKey = config.trustedKeys;

if (values.export) {
  const verdict = verifyAuditExport(readFileSync(values.export, 'utf8'), publicKey);
  if (verdict.ok) {
    const covered = verdict.covered === null ? 'no records' : `covered by the checkpoint at seq ${verdict.covered}`;
    console.log(`intact: ${verdict.records} records, each listed in the header signed by key ${verdict.keyId} and proved against ${verdict.checkpoints} signed checkpoints (${covered})`);
  } else {
    console.log(`TAMPERED (${verdict.kind}): line ${verdict.line}${verdict.seq ? ` (seq ${verdict.seq})` : ''}: ${verdict.problem}`);
    process.exitCode = 1;
  }
} else {
  if (!config.databaseUrl) {
    console.error('config error: set AUDIT_DATABASE_URL or DATABASE_URL (or pass --export FILE)');
    process.exit(1);
  }
  const file = values.checkpoints ?? config.checkpointFile;
  const external: SignedCheckpoint[] = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SignedCheckpoint)
    : [];
  const db = createDb<AuditDatabase>(createPool(config.databaseUrl, { max: 2, applicationName: 'audit-verify' }));
  try {
    const result = await verifyChain(db, publicKey, { externalCheckpoints: external });
    if (result.ok) {
      console.log(`intact: ${result.count} records (seq ${result.firstSeq}..${result.lastSeq}), ${result.checkpoints} signed checkpoints, ${result.unsigned} records after the last checkpoint`);
    } else {
      const d = result.damage;
      console.log(`TAMPERED (${d.kind}) at seq ${d.seq}${d.eventId ? `, event ${d.eventId}` : ''}: ${d.detail} [${result.checked} records verified before it]`);
      process.exitCode = 1;
    }
  } finally {
    await db.destroy();
  }
}
