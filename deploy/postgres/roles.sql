-- Database roles of a deployment (SP-4, SP-16, SP-21), cluster-wide: run once per cluster as a
-- superuser (`psql -f roles.sql`), before the migrations. Then, in the database, run the
-- migrations (`npm run migrate -- gateway vault audit`, as a superuser: see deploy/README.md) and
-- `grants.sql` after every migration run. The tests and `npm start` apply these same two files.
--
-- Owners (no login): own each schema and every object in it; only they could create, alter or
-- drop a table. No process runs as an owner.
--   pgw_gateway_owner, pgw_vault_owner, pgw_audit_owner
-- Runtime login roles, one per process (plus the retention job):
--   pgw_gateway          DML on schema gateway's tables, nothing on vault or audit
--   pgw_vault            DML on schema vault's tables, nothing on gateway or audit
--   pgw_audit_worker     member of audit_writer: INSERT and SELECT on the audit store (triggers
--                        refuse UPDATE, DELETE and TRUNCATE to every role), and the one
--                        cross-schema grant by design: DELETE and SELECT (event_id, payload) on
--                        gateway.audit_outbox and vault.audit_outbox, so that storing an event and
--                        deleting its outbox row are one transaction (exactly-once delivery, SP-21)
--   pgw_audit_retention  member of audit_retention: drops whole audit months older than 10 years
-- The login roles are created without a password. Give each one with `\password ROLE` (psql
-- hashes it client-side) and use scram-sha-256 in pg_hba.conf: under `trust` any password logs
-- in, which is why the tests prove privileges (SQLSTATE 42501), not passwords.
--
-- Idempotent and safe to run concurrently (parallel test processes share one server): one
-- statement, serialised by an advisory lock; a role made meanwhile by an old migration is a twin.
do $roles$
declare
  r record;
begin
  perform pg_advisory_xact_lock(hashtext('pgw deployment roles'));
  for r in select * from (values
    ('pgw_gateway_owner', 'nologin'), ('pgw_vault_owner', 'nologin'), ('pgw_audit_owner', 'nologin'),
    ('audit_writer', 'nologin'), ('audit_retention', 'nologin'),
    ('pgw_gateway', 'login'), ('pgw_vault', 'login'), ('pgw_audit_worker', 'login'), ('pgw_audit_retention', 'login')
  ) as v(name, kind) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.kind);
      exception when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
  if not pg_has_role('pgw_audit_worker', 'audit_writer', 'member') then
    grant audit_writer to pgw_audit_worker;
  end if;
  if not pg_has_role('pgw_audit_retention', 'audit_retention', 'member') then
    grant audit_retention to pgw_audit_retention;
  end if;
end $roles$;
