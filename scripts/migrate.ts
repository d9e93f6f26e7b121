// `npm run migrate -- <gateway|vault|audit> …`: applies one or more components' migrations with
// DATABASE_URL (run by the schema owner in deployments, where MIGRATE_ON_START=false).
import { fileURLToPath } from 'node:url';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { createLogger } from '../lib/logger.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const FOLDERS = {
  gateway: '../gateway/src/migrations',
  vault: '../vault/src/migrations',
  audit: '../audit-worker/src/migrations',
} as const;

const components = process.argv.slice(2);
const url = components.length > 0 ? (await localDatabaseEnvOrExit(process.env, 'migrate')).DATABASE_URL : undefined;
if (!url || components.length === 0 || components.some((c) => !(c in FOLDERS))) {
  process.stderr.write('usage: DATABASE_URL=… npm run migrate -- gateway|vault|audit [...]\n');
  process.exit(2);
}
const log = createLogger('migrate', 'info');
const db = createDb<any>(createPool(url, { max: 2, applicationName: 'migrate' }));
try {
  for (const c of components as (keyof typeof FOLDERS)[]) {
    await migrateToLatest(db, c, fileURLToPath(new URL(FOLDERS[c], import.meta.url)), log);
  }
} catch (err) {
  log.error({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.destroy();
}
