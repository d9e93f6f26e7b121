// `npm run audit:retention` (SP-21) — drops the audit partitions whose whole month ended more
// than 10 years ago and writes a signed record of what it dropped. Run it as the
// audit_retention role (AUDIT_DATABASE_URL); the database re-checks every drop. `-- --dry-run`
// lists what would go and changes nothing.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool } from '../lib/db.js';
import { systemClock } from '../lib/clock.js';
import { createSigner } from '../lib/audit/chain.js';
import { loadAuditToolConfig } from '../audit-worker/src/config.js';
import { planRetention, runRetention, type DoomedPartition } from '../audit-worker/src/retention.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const env = await localDatabaseEnvOrExit(process.env, 'audit:retention', ['AUDIT_DATABASE_URL']);
const config = loadOrExit(() => loadAuditToolConfig(env));
if (!config.databaseUrl) {
  console.error('config error: set AUDIT_DATABASE_URL or DATABASE_URL');
  process.exit(1);
}
const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
const describe = (d: DoomedPartition) => `${d.partition} (${d.count} records, seq ${d.firstSeq ?? '-'}..${d.lastSeq ?? '-'})`;
const db = createDb<any>(createPool(config.databaseUrl, { max: 1, applicationName: 'audit-retention' }));
try {
  if (values['dry-run']) {
    const planned = await planRetention(db, systemClock);
    if (planned.length === 0) console.log('dry run: nothing would be dropped: no audit month is older than 10 years');
    for (const d of planned) console.log(`dry run: would drop ${describe(d)}`);
  } else {
    const record = await runRetention(db, createSigner(readFileSync(config.signingKeyFile)), systemClock);
    if (!record) console.log('nothing to drop: no audit month is older than 10 years');
    for (const d of record?.dropped ?? []) console.log(`dropped ${describe(d)}`);
    if (record) console.log(`signed retention record: anchor seq ${record.anchorSeq}, key ${record.keyId}`);
  }
} finally {
  await db.destroy();
}
