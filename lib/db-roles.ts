// The deployment's database roles (deploy/postgres/roles.sql) and per-database grants
// (deploy/postgres/grants.sql), applied by `npm run migrate`, `npm start` and the tests alike, so
// the tests prove the files operators run. Each process connects as its own runtime role.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { migrateToLatest } from './db.js';
import type { Logger } from './logger.js';
import { repoRoot } from './paths.js';

/** Each process's login role (roles.sql); `auditRetention` is the retention job's. */
export const RUNTIME_ROLES = {
  gateway: 'pgw_gateway',
  vault: 'pgw_vault',
  audit: 'pgw_audit_worker',
  auditRetention: 'pgw_audit_retention',
} as const;

export type RuntimeRole = (typeof RUNTIME_ROLES)[keyof typeof RUNTIME_ROLES];

export const MIGRATION_FOLDERS = {
  gateway: fileURLToPath(new URL('../gateway/src/migrations', import.meta.url)),
  vault: fileURLToPath(new URL('../vault/src/migrations', import.meta.url)),
  audit: fileURLToPath(new URL('../audit-worker/src/migrations', import.meta.url)),
} as const;

export type Component = keyof typeof MIGRATION_FOLDERS;

const deploySql = (name: 'roles' | 'grants') => readFileSync(join(repoRoot, 'deploy', 'postgres', `${name}.sql`), 'utf8');

/** Creates the cluster's roles (idempotent, safe from parallel sessions). Needs a superuser. */
export async function applyRoles(db: Kysely<any>): Promise<void> {
  await sql.raw(deploySql('roles')).execute(db);
}

/** Hands this database's schemas to their owners and grants the runtime roles. Needs a superuser. */
export async function applyGrants(db: Kysely<any>): Promise<void> {
  await sql.raw(deploySql('grants')).execute(db);
}

/**
 * Migrates `components` in the database of `db` (a superuser's connection), then applies the
 * grants: the schemas end up owned by their owner roles, and each process's role has only its
 * grants. The roles must exist (applyRoles).
 */
export async function migrateWithGrants(db: Kysely<any>, components: readonly Component[], log?: Logger): Promise<void> {
  for (const component of components) await migrateToLatest(db, component, MIGRATION_FOLDERS[component], log);
  await applyGrants(db);
}

/**
 * `url` logging in as `role` instead of its user. With trust authentication (the test server)
 * no password is needed; the embedded database of `npm start` gives each role one.
 */
export function urlAs(url: string, role: string, password?: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password ?? ''; // base64url: nothing to escape
  u.searchParams.delete('options');
  return u.toString();
}
