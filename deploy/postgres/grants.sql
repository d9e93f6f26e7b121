-- Per database, after every migration run (`npm run migrate` applies it; so do the tests and
-- `npm start`): hands each schema and everything in it to its owner role and grants each runtime
-- role of roles.sql exactly what its process needs. Idempotent; a schema not migrated yet is
-- skipped. Run as a superuser, like the migrations.
--
-- The migrations run as the superuser, not as the owners: the first migration of each component
-- creates cluster roles (audit_writer, audit_retention), which needs CREATEROLE, and on
-- PostgreSQL 15 a role with CREATEROLE can make itself almost a superuser. So ownership is
-- handed over here instead; SECURITY DEFINER functions (audit.ensure_partition,
-- audit.drop_expired_partition) then run as pgw_audit_owner, never as the superuser.
do $grants$
declare
  s record;
  o record;
begin
  for s in select * from (values
    ('gateway', 'pgw_gateway_owner', 'pgw_gateway'),
    ('vault', 'pgw_vault_owner', 'pgw_vault'),
    ('audit', 'pgw_audit_owner', null)
  ) as v(nsp, owner, runtime)
  where exists (select 1 from pg_namespace where nspname = v.nsp) loop
    execute format('alter schema %I owner to %I', s.nsp, s.owner);
    execute format('revoke all on schema %I from public', s.nsp);
    -- Tables (partitions too), views and free-standing sequences; indexes and identity
    -- sequences follow their table.
    for o in
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = s.nsp and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
        and c.relowner <> s.owner::regrole
        and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                        and d.objid = c.oid and d.deptype in ('a', 'i') and c.relkind = 'S')
    loop
      execute format('alter table %I.%I owner to %I', s.nsp, o.relname, s.owner);
    end loop;
    for o in
      select p.oid::regprocedure as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = s.nsp and p.proowner <> s.owner::regrole
    loop
      execute format('alter routine %s owner to %I', o.sig, s.owner);
    end loop;
    -- The gateway and the vault: rows of their own tables, no DDL (they own nothing), and the
    -- migration bookkeeping read-only (a process started with MIGRATE_ON_START finds nothing to
    -- do; a pending migration fails with 42501 until an operator runs it).
    if s.runtime is not null then
      execute format('grant usage on schema %I to %I', s.nsp, s.runtime);
      execute format('grant select, insert, update, delete on all tables in schema %I to %I', s.nsp, s.runtime);
      execute format('grant usage, select on all sequences in schema %I to %I', s.nsp, s.runtime);
      if to_regclass(format('%I.kysely_migration', s.nsp)) is not null then
        execute format('revoke insert, update, delete on %I.kysely_migration, %I.kysely_migration_lock from %I',
          s.nsp, s.nsp, s.runtime);
      end if;
    end if;
  end loop;
  -- The one cross-schema grant, by design: the audit-worker deletes the producers' outbox rows
  -- in the transaction that stores their events (exactly-once delivery, SP-21), reading back only
  -- the two columns its DELETE … RETURNING names. Each producer reports its own outbox depth and
  -- age (lib/audit/outbox-metrics.ts), so the worker reads nothing else there.
  -- The audit store's own grants (audit_writer insert-only, audit_retention) are in its migration.
  if to_regclass('gateway.audit_outbox') is not null then
    grant usage on schema gateway to audit_writer;
    revoke select on gateway.audit_outbox from audit_writer;
    grant select (event_id, payload), delete on gateway.audit_outbox to audit_writer;
  end if;
  if to_regclass('vault.audit_outbox') is not null then
    grant usage on schema vault to audit_writer;
    revoke select on vault.audit_outbox from audit_writer;
    grant select (event_id, payload), delete on vault.audit_outbox to audit_writer;
  end if;
end $grants$;
