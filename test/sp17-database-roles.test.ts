// SP-4, SP-17, SP-21: each process runs under the role deploy/postgres/roles.sql gives it, and
// deploy/postgres/grants.sql grants it only its own data. The test server uses trust
// authentication, so what is proved here is privileges: each refusal is PostgreSQL's
// insufficient_privilege (42501) naming the missing grant, never "some error".
import { sql, type Kysely, type RawBuilder } from 'kysely';
import t, { type Test } from 'tap';
import { createDb, createPool, migrateToLatest } from '../lib/db.js';
import { applyRoles, MIGRATION_FOLDERS, RUNTIME_ROLES } from '../lib/db-roles.js';
import { ADMIN_URL, migratedDatabase, runtimeDb } from './support/database.js';

const PERMISSION_DENIED = (what: RegExp) => ({ code: '42501', message: what });

async function world(tt: Test) {
  const { url, db: superuser } = await migratedDatabase(tt);
  return {
    superuser,
    gateway: runtimeDb(tt, url, RUNTIME_ROLES.gateway, 2),
    vault: runtimeDb(tt, url, RUNTIME_ROLES.vault, 2),
    worker: runtimeDb(tt, url, RUNTIME_ROLES.audit, 2),
    retention: runtimeDb(tt, url, RUNTIME_ROLES.auditRetention, 2),
  };
}

t.test('SP-17: every process is refused what is not its own (42501)', async (t) => {
  const w = await world(t);
  // One audit row, so an UPDATE or DELETE the grants let through would reach the append-only
  // trigger (also 42501, other message): the message tells the grant's refusal from the trigger's.
  await sql`select audit.ensure_partition(now())`.execute(w.worker);
  await sql`insert into audit.events (seq, event_id, occurred_at, recorded_at, source, payload, prev_hash, hash)
    values (1, gen_random_uuid(), now(), now(), 'gateway', '{}', ${Buffer.alloc(32)}, ${Buffer.alloc(32)})`.execute(w.worker);

  const refusals: [string, Kysely<any>, RawBuilder<unknown>, RegExp][] = [
    ['gateway selects audit.events', w.gateway, sql`select * from audit.events`, /permission denied for schema audit/],
    ['gateway inserts into audit.events', w.gateway, sql`insert into audit.events (seq) values (2)`, /permission denied for schema audit/],
    ['gateway updates audit.events', w.gateway, sql`update audit.events set payload = '{}'`, /permission denied for schema audit/],
    ['gateway deletes audit.events', w.gateway, sql`delete from audit.events`, /permission denied for schema audit/],
    ['gateway reads audit.checkpoints', w.gateway, sql`select * from audit.checkpoints`, /permission denied for schema audit/],
    ['gateway reads vault.cards', w.gateway, sql`select * from vault.cards`, /permission denied for schema vault/],
    ['gateway creates a table in its schema', w.gateway, sql`create table gateway.extra (x int)`, /permission denied for schema gateway/],
    ['gateway drops its table', w.gateway, sql`drop table gateway.clients`, /must be owner of table clients/],
    ['gateway alters its table', w.gateway, sql`alter table gateway.payments add column note text`, /must be owner of table payments/],
    ['vault reads gateway.clients', w.vault, sql`select * from gateway.clients`, /permission denied for schema gateway/],
    ['vault reads audit.events', w.vault, sql`select * from audit.events`, /permission denied for schema audit/],
    ['vault creates a table in its schema', w.vault, sql`create table vault.extra (x int)`, /permission denied for schema vault/],
    ['vault drops its table', w.vault, sql`drop table vault.cards`, /must be owner of table cards/],
    ['worker updates audit.events', w.worker, sql`update audit.events set payload = '{}'`, /permission denied for table events/],
    ['worker deletes audit.events', w.worker, sql`delete from audit.events`, /permission denied for table events/],
    ['worker truncates audit.events', w.worker, sql`truncate audit.events`, /permission denied for table events/],
    ['worker reads gateway.clients', w.worker, sql`select * from gateway.clients`, /permission denied for table clients/],
    ['worker reads vault.cards', w.worker, sql`select * from vault.cards`, /permission denied for table cards/],
    // The producers report their own outbox depth and age (lib/audit/outbox-metrics.ts).
    ['worker reads the gateway outbox\'s ages', w.worker, sql`select min(created_at) from gateway.audit_outbox`, /permission denied for table audit_outbox/],
    ['worker reads the vault outbox\'s ages', w.worker, sql`select min(created_at) from vault.audit_outbox`, /permission denied for table audit_outbox/],
    ['worker reads the gateway outbox\'s publication times', w.worker, sql`select published_at from gateway.audit_outbox`, /permission denied for table audit_outbox/],
    ['worker writes into the gateway outbox', w.worker, sql`insert into gateway.audit_outbox (event_id, payload, created_at) values (gen_random_uuid(), '{}', now())`, /permission denied for table audit_outbox/],
    ['worker creates a table in audit', w.worker, sql`create table audit.extra (x int)`, /permission denied for schema audit/],
    ['retention job deletes audit.events', w.retention, sql`delete from audit.events`, /permission denied for table events/],
    ['retention job reads gateway.clients', w.retention, sql`select * from gateway.clients`, /permission denied for schema gateway/],
  ];
  for (const [name, db, statement, message] of refusals) {
    await t.rejects(statement.execute(db), PERMISSION_DENIED(message), name);
  }
  t.equal((await sql<{ n: number }>`select count(*)::int as n from audit.events`.execute(w.superuser)).rows[0]!.n, 1,
    'the audit row is untouched');
});

t.test('SP-17: each role can do its own work (the refusals are not a broken connection)', async (t) => {
  const w = await world(t);
  await sql`insert into gateway.audit_outbox (event_id, payload, created_at) values (gen_random_uuid(), '{}', now())`.execute(w.gateway);
  await sql`insert into vault.audit_outbox (event_id, payload, created_at) values (gen_random_uuid(), '{}', now())`.execute(w.vault);
  t.equal((await sql`select * from gateway.clients`.execute(w.gateway)).rows.length, 0, 'the gateway reads its clients');
  t.equal((await sql`select * from vault.cards`.execute(w.vault)).rows.length, 0, 'the vault reads its cards');
  // The one cross-schema grant: the worker takes both outboxes' rows as it stores them.
  t.equal((await sql`delete from gateway.audit_outbox returning event_id`.execute(w.worker)).rows.length, 1, 'the worker deletes a gateway outbox row');
  t.equal((await sql`delete from vault.audit_outbox returning event_id`.execute(w.worker)).rows.length, 1, 'the worker deletes a vault outbox row');
  t.equal((await sql`select * from audit.chain_head`.execute(w.worker)).rows.length, 1, 'the worker reads the chain head');
  t.equal((await sql`select * from audit.events`.execute(w.retention)).rows.length, 0, 'the retention job reads the audit store');
});

t.test('SP-17: the audit-worker can read no gateway or vault table, and of the outboxes only what its delete returns', async (t) => {
  const { db } = await migratedDatabase(t);
  const { rows: tables } = await sql<{ name: string }>`
    select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('gateway', 'vault') and c.relkind in ('r', 'p', 'v', 'm')
      and has_table_privilege(${RUNTIME_ROLES.audit}, c.oid, 'select')
    order by 1`.execute(db);
  t.same(tables.map((r) => r.name), [], 'no whole-table SELECT on gateway.* or vault.*');
  const { rows: columns } = await sql<{ name: string }>`
    select n.nspname || '.' || c.relname || '.' || a.attname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
    where n.nspname in ('gateway', 'vault') and c.relkind in ('r', 'p', 'v', 'm') and a.attnum > 0 and not a.attisdropped
      and has_column_privilege(${RUNTIME_ROLES.audit}, c.oid, a.attnum, 'select')
    order by 1`.execute(db);
  t.same(columns.map((r) => r.name), [
    'gateway.audit_outbox.event_id', 'gateway.audit_outbox.payload', 'vault.audit_outbox.event_id', 'vault.audit_outbox.payload',
  ], 'readable columns: the outboxes\' event_id and payload (DELETE … RETURNING), nothing else');
});

t.test('SP-17: the schemas and everything in them belong to the owner roles, not the superuser', async (t) => {
  const { db } = await migratedDatabase(t);
  const { rows: relations } = await sql<{ nsp: string; name: string; owner: string }>`
    select n.nspname as nsp, c.relname as name, pg_get_userbyid(c.relowner) as owner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('gateway', 'vault', 'audit')`.execute(db);
  const { rows: routines } = await sql<{ nsp: string; name: string; owner: string }>`
    select n.nspname as nsp, p.proname as name, pg_get_userbyid(p.proowner) as owner
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('gateway', 'vault', 'audit')`.execute(db);
  const { rows: schemas } = await sql<{ nsp: string; name: string; owner: string }>`
    select nspname as nsp, nspname as name, pg_get_userbyid(nspowner) as owner
    from pg_namespace where nspname in ('gateway', 'vault', 'audit')`.execute(db);
  t.ok(relations.some((r) => r.name === 'clients') && relations.some((r) => r.name === 'cards') && relations.some((r) => r.name === 'events'),
    'the tables are listed');
  t.ok(routines.some((r) => r.name === 'ensure_partition'), 'the SECURITY DEFINER functions are listed');
  t.equal(schemas.length, 3);
  const wrong = [...relations, ...routines, ...schemas].filter((o) => o.owner !== `pgw_${o.nsp}_owner`);
  t.same(wrong, [], 'every schema, table, index, sequence and function is owned by its schema\'s owner role');
});

t.test('SP-17: a partition the worker makes belongs to the audit owner (SECURITY DEFINER runs as the owner)', async (t) => {
  const w = await world(t);
  const { rows } = await sql<{ name: string }>`select audit.ensure_partition(now() + interval '3 months') as name`.execute(w.worker);
  const { rows: owner } = await sql<{ owner: string }>`
    select pg_get_userbyid(relowner) as owner from pg_class where oid = ${`audit.${rows[0]!.name}`}::regclass`.execute(w.superuser);
  t.equal(owner[0]!.owner, 'pgw_audit_owner');
});

t.test('SP-17: roles.sql is idempotent and safe from parallel sessions (roles are cluster-wide)', async (t) => {
  const sessions = Array.from({ length: 4 }, () => createDb<any>(createPool(ADMIN_URL, { max: 1, applicationName: 'test-roles' })));
  t.teardown(() => Promise.all(sessions.map((db) => db.destroy())));
  await Promise.all(sessions.map((db) => applyRoles(db)));
  const expected = [
    ['pgw_audit_owner', false], ['pgw_audit_retention', true], ['pgw_audit_worker', true], ['pgw_gateway', true],
    ['pgw_gateway_owner', false], ['pgw_vault', true], ['pgw_vault_owner', false],
  ];
  const { rows } = await sql<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean }>`
    select rolname, rolcanlogin, rolsuper, rolcreaterole from pg_roles
    where rolname = any(${expected.map(([name]) => name)}::text[]) order by rolname`.execute(sessions[0]!);
  t.same(rows.map((r) => [r.rolname, r.rolcanlogin]), expected, 'the runtime roles log in; the owners do not');
  t.ok(rows.every((r) => !r.rolsuper && !r.rolcreaterole), 'no role is a superuser or may create roles');
});

t.test('SP-17: migrations are the superuser\'s: a runtime role starts on a current schema and cannot migrate (42501)', async (t) => {
  const { url } = await migratedDatabase(t, ['gateway']);
  await migrateToLatest(runtimeDb(t, url, RUNTIME_ROLES.gateway, 1), 'gateway', MIGRATION_FOLDERS.gateway);
  t.pass('the gateway\'s role finds nothing pending (MIGRATE_ON_START needs no DDL right)');
  await t.rejects(migrateToLatest(runtimeDb(t, url, RUNTIME_ROLES.vault, 1), 'vault', MIGRATION_FOLDERS.vault),
    PERMISSION_DENIED(/permission denied for database/), 'the vault\'s role cannot create its schema');
});
