// `npm run migrate -- <gateway|vault|audit> …`: applies one or more components' migrations with
// DATABASE_URL, a superuser's (deployments set MIGRATE_ON_START=false), then
// deploy/postgres/grants.sql: every schema object to its owner role, each process's role its
// grants. The roles (deploy/postgres/roles.sql) must exist.
import { createDb, createPool } from '../lib/db.js';
import { MIGRATION_FOLDERS, migrateWithGrants, type Component } from '../lib/db-roles.js';
import { createLogger } from '../lib/logger.js';
import { localDatabaseEnvOrExit } from './local-database.js';

const components = process.argv.slice(2);
const url = components.length > 0 ? (await localDatabaseEnvOrExit(process.env, 'migrate')).DATABASE_URL : undefined;
if (!url || components.length === 0 || components.some((c) => !(c in MIGRATION_FOLDERS))) {
  process.stderr.write('usage: DATABASE_URL=… npm run migrate -- gateway|vault|audit [...]\n');
  process.exit(2);
}
const log = createLogger('migrate', 'info');
const db = createDb<any>(createPool(url, { max: 2, applicationName: 'migrate' }));
try {
  await migrateWithGrants(db, components as Component[], log);
} catch (err) {
  log.error({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.destroy();
}
