// The database an operations command uses when no database setting is given: the embedded
// PostgreSQL that `npm start` runs under DATA_DIR (scripts/embedded-postgres.ts records its port
// and password there). Deployments always set DATABASE_URL (or the process's own setting), and
// then this never looks anywhere else. The command says which database it used, so an operator
// never acts on a database by surprise. Each command logs in as its own role (roles.sql):
// migrate as the superuser (it then hands the schemas to their owners), audit:verify as the
// worker's pgw_audit_worker, audit:retention as pgw_audit_retention, vault:rotate-key as pgw_vault.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { RUNTIME_ROLES, urlAs, type RuntimeRole } from '../lib/db-roles.js';
import { dataDir } from '../lib/paths.js';

type Env = Readonly<Record<string, string | undefined>>;

export const EMBEDDED_DEFAULT_PORT = 5433;
export const EMBEDDED_DATABASE = 'gateway';

/** Written by scripts/embedded-postgres.ts while it runs; read by the operations commands. */
export function embeddedPortFile(data: string): string {
  return join(data, 'pg-port');
}

export function embeddedPasswordFile(data: string): string {
  return join(data, 'pg-password');
}

/** The embedded database's passwords of the runtime roles (scripts/embedded-postgres.ts sets them). */
export function embeddedRolesFile(data: string): string {
  return join(data, 'pg-roles.json');
}

/** The runtime roles' passwords for the embedded database, made on first use (0600). */
export function embeddedRolePasswords(data: string): Record<RuntimeRole, string> {
  const file = embeddedRolesFile(data);
  const known: Partial<Record<RuntimeRole, string>> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const all = Object.fromEntries(Object.values(RUNTIME_ROLES).map((role) => [role, known[role] ?? randomBytes(18).toString('base64url')])) as Record<RuntimeRole, string>;
  if (Object.values(RUNTIME_ROLES).some((role) => !known[role])) writeFileSync(file, JSON.stringify(all), { mode: 0o600 });
  return all;
}

/** The role each operations command runs as on the embedded database; none: the superuser. */
const COMMAND_ROLES: Readonly<Record<string, RuntimeRole>> = {
  'audit:verify': RUNTIME_ROLES.audit,
  'audit:retention': RUNTIME_ROLES.auditRetention,
  'vault:rotate-key': RUNTIME_ROLES.vault,
  'vault:rotate-fingerprint-key': RUNTIME_ROLES.vault,
  'gateway:translate-fingerprints': RUNTIME_ROLES.gateway,
};

function embeddedPort(env: Env, data: string): number {
  if (env.EMBEDDED_PG_PORT) return Number(env.EMBEDDED_PG_PORT);
  const file = embeddedPortFile(data);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : EMBEDDED_DEFAULT_PORT;
}

export class NoDatabase extends Error {}

/**
 * The environment for `command`: unchanged when any of `settings` (or DATABASE_URL) is set;
 * otherwise DATABASE_URL points at the running embedded database, or NoDatabase says what to do.
 */
export async function withLocalDatabase(env: Env, command: string, settings: readonly string[] = []): Promise<{ env: Env; note?: string }> {
  if (env.DATABASE_URL || settings.some((s) => env[s])) return { env };
  const data = dataDir(env);
  const passwordFile = embeddedPasswordFile(data);
  const wanted = ['DATABASE_URL', ...settings].join(' or ');
  if (!existsSync(passwordFile) || !existsSync(join(data, 'pg', 'PG_VERSION'))) {
    throw new NoDatabase(`config error: set ${wanted}; ${command} found no embedded database of \`npm start\` in ${data}`);
  }
  const port = embeddedPort(env, data);
  const password = readFileSync(passwordFile, 'utf8').trim();
  const superuserUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  const probe = new pg.Client({ connectionString: superuserUrl, connectionTimeoutMillis: 3_000 });
  try {
    await probe.connect();
  } catch (err) {
    throw new NoDatabase(`config error: set ${wanted}; the embedded database of \`npm start\` in ${data} (127.0.0.1:${port}) does not answer `
      + `(${(err as Error).message}): start it with \`npm start\``);
  } finally {
    await probe.end().catch(() => undefined);
  }
  const role = COMMAND_ROLES[command];
  const rolePassword = role && existsSync(embeddedRolesFile(data)) ? (JSON.parse(readFileSync(embeddedRolesFile(data), 'utf8')) as Record<string, string>)[role] : undefined;
  if (role && !rolePassword) {
    throw new NoDatabase(`config error: set ${wanted}; the embedded database of \`npm start\` in ${data} has no password for ${role}: restart \`npm start\``);
  }
  const url = role ? urlAs(superuserUrl, role, rolePassword) : superuserUrl;
  return {
    env: { ...env, DATABASE_URL: url },
    note: `${command}: using the embedded database of \`npm start\` (${role ?? 'postgres'}@127.0.0.1:${port}/${EMBEDDED_DATABASE}, DATA_DIR ${data})`,
  };
}

/** For a command's first line: the environment to read its config from, or exit 1 with the reason. */
export async function localDatabaseEnvOrExit(env: Env, command: string, settings: readonly string[] = []): Promise<Env> {
  try {
    const found = await withLocalDatabase(env, command, settings);
    if (found.note) process.stderr.write(`${found.note}\n`);
    return found.env;
  } catch (err) {
    if (!(err instanceof NoDatabase)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
