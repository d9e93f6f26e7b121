// The operations commands where `npm start` runs (SP-21, SP-17): with no database setting each
// finds the embedded PostgreSQL that `npm start` left running under DATA_DIR, says so, and works;
// with none running it says what to set instead of a bare "config error".
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevPki } from '../../lib/pki.js';
import { ensureDevSecrets } from '../../scripts/dev-secrets.js';
import { freePort } from '../support/net.js';
import { runToExit, startProcess } from '../support/processes.js';

// Each command as its own role (deploy/postgres/roles.sql); migrate as the superuser.
const using = (role: string) => new RegExp(`using the embedded database of \`npm start\` \\(${role}@127\\.0\\.0\\.1:\\d+/gateway, DATA_DIR `);

t.test('SP-21: migrate, audit:verify, audit:retention --dry-run and vault:rotate-key --status use the embedded database', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'pgw-ops-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  chmodSync(data, 0o755); // the embedded PostgreSQL's own user reads it, as under `npm start`
  generateDevPki(join(data, 'pki'));
  ensureDevSecrets(data);
  const base = { DATA_DIR: data, LOG_LEVEL: 'warn' };
  // Started on a port of its own; the commands are not told it: they read what it recorded.
  await startProcess(t, 'scripts/embedded-postgres.ts', { ...base, EMBEDDED_PG_PORT: String(await freePort()) }, 120_000);

  const run = async (entry: string, args: string[], role: string) => {
    const { code, output } = await runToExit(entry, base, args);
    t.match(output, using(role), `${entry} ${args.join(' ')} names the database and role it used`);
    t.equal(code, 0, `${entry} ${args.join(' ')} succeeds:\n${output}`);
    return output;
  };
  await run('scripts/migrate.ts', ['gateway', 'vault', 'audit'], 'postgres');
  t.match(await run('scripts/audit-verify.ts', [], 'pgw_audit_worker'), /intact: 0 records/);
  t.match(await run('scripts/audit-retention.ts', ['--dry-run'], 'pgw_audit_retention'), /dry run: nothing would be dropped/);
  t.match(await run('scripts/vault-rotate-key.ts', ['--status'], 'pgw_vault'), /active KEK version: 1/);
});

t.test('SP-21: with no database setting and no embedded database, each command says what to set', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'pgw-ops-none-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  ensureDevSecrets(data);
  const cases: [string, string[], RegExp][] = [
    ['scripts/migrate.ts', ['gateway'], /config error: set DATABASE_URL; migrate found no embedded database/],
    ['scripts/audit-verify.ts', [], /config error: set DATABASE_URL or AUDIT_DATABASE_URL; audit:verify found no embedded database/],
    ['scripts/audit-retention.ts', ['--dry-run'], /config error: set DATABASE_URL or AUDIT_DATABASE_URL; audit:retention found/],
    ['scripts/vault-rotate-key.ts', ['--status'], /config error: set DATABASE_URL or VAULT_DATABASE_URL; vault:rotate-key found/],
  ];
  for (const [entry, args, message] of cases) {
    const { code, output } = await runToExit(entry, { DATA_DIR: data }, args);
    t.equal(code, 1, `${entry} exits 1`);
    t.match(output, message, `${entry} names the settings`);
  }
});
