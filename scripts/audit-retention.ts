// `npm run audit:retention` (SP-21) — drops the audit partitions whose whole month ended more
// than 10 years ago and writes a signed record of what it dropped. Run it as the
// audit_retention role (AUDIT_DATABASE_URL); the database re-checks every drop.
import { readFileSync } from 'node:fs';
import { loadOrExit } from '../lib/config.js';
import { createDb, createPool } from '../lib/db.js';
import { systemClock } from '../lib/clock.js';
import { createSigner } from '../lib/audit/chain.js';
import { loadAuditToolConfig } from '../audit-worker/src/config.js';
import { runRetention } from '../audit-worker/src/retention.js';

const config = loadOrExit(() => loadAuditToolConfig(process.env));
if (!config.databaseUrl) {
  console.error('config error: set AUDIT_DATABASE_URL or DATABASE_URL');
  process.exit(1);
}
const signer = createSigner(readFileSync(config.signingKeyFile));
const db = createDb<any>(createPool(config.databaseUrl, { max: 1, applicationName: 'audit-retention' }));
try {
  const record = await runRetention(db, signer, systemClock);
  if (!record) console.log('nothing to drop: no audit month is older than 10 years');
  for (const d of record?.dropped ?? []) console.log(`dropped ${d.partition} (${d.count} records, seq ${d.firstSeq ?? '-'}..${d.lastSeq ?? '-'})`);
  if (record) console.log(`signed retention record: anchor seq ${record.anchorSeq}, key ${record.keyId}`);
} finally {
  await db.destroy();
}
