import { sql, type Kysely } from 'kysely';

// SP-21 / PCI DSS 10.3, 10.5.1: the append-only, tamper-evident audit store, kept 10 years.
// - audit.events is partitioned by month of recorded_at (the sequencer's time, monotonic with
//   seq), so a retention drop always removes a prefix of the chain.
// - audit_writer (the worker) may INSERT and SELECT; triggers refuse UPDATE, DELETE and
//   TRUNCATE to every role, owners included; only audit.drop_expired_partition, executable by
//   audit_retention alone, removes data, and only whole months older than 10 years.
// - Partitions are made on demand by audit.ensure_partition (SECURITY DEFINER), so the writer
//   needs no DDL rights.
// Roles are cluster-wide and many databases migrate in parallel: creation tolerates a twin.
export async function up(db: Kysely<any>): Promise<void> {
  for (const role of ['audit_writer', 'audit_retention']) {
    await sql.raw(`do $$ begin create role ${role} nologin;
      exception when duplicate_object or unique_violation then null; end $$`).execute(db);
  }
  await sql`create table audit.events (
    seq bigint not null,
    event_id uuid not null,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null,
    source text not null check (source in ('gateway', 'vault')),
    payload jsonb not null,
    prev_hash bytea not null check (length(prev_hash) = 32),
    hash bytea not null check (length(hash) = 32),
    primary key (seq, recorded_at)
  ) partition by range (recorded_at)`.execute(db);
  // The investigation export (SP-20) finds a client's or a payment's trail by these.
  await sql`create index events_client on audit.events ((payload #>> '{targets,clientId}'), occurred_at)`.execute(db);
  await sql`create index events_actor on audit.events ((payload #>> '{actor,id}'), occurred_at)`.execute(db);
  await sql`create index events_payment on audit.events ((payload #>> '{targets,paymentId}'), occurred_at)`.execute(db);

  // The sequencer's state: the last seq and hash. Locked by pg_advisory_xact_lock (store.ts).
  await sql`create table audit.chain_head (
    id boolean primary key default true check (id),
    seq bigint not null,
    hash bytea not null,
    recorded_at timestamptz not null
  )`.execute(db);
  await sql`insert into audit.chain_head (seq, hash, recorded_at) values (0, ${Buffer.alloc(32)}, 'epoch')`.execute(db);

  await sql`create table audit.checkpoints (
    count bigint primary key,
    signed jsonb not null
  )`.execute(db);
  await sql`create table audit.retention_records (
    id bigint generated always as identity primary key,
    signed jsonb not null
  )`.execute(db);
  // The database's own brake on the retention job's clock; only the owner (a DBA) changes it.
  await sql`create table audit.retention_policy (
    id boolean primary key default true check (id),
    max_clock_ahead interval not null
  )`.execute(db);
  await sql`insert into audit.retention_policy (max_clock_ahead) values ('1 day')`.execute(db);

  await sql`create function audit.refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit records are append-only (SP-21): % on % refused', tg_op, tg_table_name
        using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  for (const table of ['events', 'checkpoints', 'retention_records']) {
    await sql.raw(`create trigger append_only before update or delete on audit.${table}
      for each row execute function audit.refuse_change()`).execute(db);
    await sql.raw(`create trigger no_truncate before truncate on audit.${table}
      for each statement execute function audit.refuse_change()`).execute(db);
  }

  await sql`create function audit.ensure_partition(p_at timestamptz) returns text
    language plpgsql security definer set search_path = pg_catalog as $$
    declare
      m timestamp := date_trunc('month', p_at at time zone 'UTC');
      name text := format('events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
    begin
      if to_regclass('audit.' || name) is null then
        begin
          execute format('create table audit.%I partition of audit.events for values from (%L) to (%L)',
            name, m at time zone 'UTC', (m + interval '1 month') at time zone 'UTC');
          -- statement triggers are not inherited: each partition refuses TRUNCATE itself
          execute format('create trigger no_truncate before truncate on audit.%I
            for each statement execute function audit.refuse_change()', name);
        exception when duplicate_table then null;
        end;
      end if;
      return name;
    end $$`.execute(db);

  await sql`create function audit.drop_expired_partition(p_name text, p_as_of timestamptz) returns void
    language plpgsql security definer set search_path = pg_catalog as $$
    declare
      upper_bound timestamptz;
      ahead interval;
    begin
      select max_clock_ahead into ahead from audit.retention_policy;
      if p_as_of > now() + ahead then
        raise exception 'retention clock % is ahead of the database clock', p_as_of using errcode = 'insufficient_privilege';
      end if;
      if p_name !~ '^events_y[0-9]{4}m[0-9]{2}$' or not exists (
        select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'audit.events'::regclass and c.relname = p_name) then
        raise exception 'not an audit partition: %', p_name using errcode = 'insufficient_privilege';
      end if;
      upper_bound := (to_date(substr(p_name, 9, 4) || substr(p_name, 14, 2), 'YYYYMM')::timestamp
                      + interval '1 month') at time zone 'UTC';
      if upper_bound > p_as_of - interval '10 years' then
        raise exception 'partition % is not older than 10 years (SP-21)', p_name using errcode = 'insufficient_privilege';
      end if;
      execute format('drop table audit.%I', p_name);
    end $$`.execute(db);

  await sql`revoke all on function audit.ensure_partition(timestamptz), audit.drop_expired_partition(text, timestamptz) from public`.execute(db);
  await sql`grant usage on schema audit to audit_writer, audit_retention`.execute(db);
  await sql`grant select, insert on audit.events, audit.checkpoints to audit_writer`.execute(db);
  await sql`grant select, update on audit.chain_head to audit_writer`.execute(db);
  await sql`grant select on audit.retention_records to audit_writer`.execute(db);
  await sql`grant execute on function audit.ensure_partition(timestamptz) to audit_writer`.execute(db);
  await sql`grant select on audit.events, audit.chain_head, audit.checkpoints to audit_retention`.execute(db);
  await sql`grant select, insert on audit.retention_records to audit_retention`.execute(db);
  await sql`grant execute on function audit.drop_expired_partition(text, timestamptz) to audit_retention`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function audit.drop_expired_partition(text, timestamptz)`.execute(db);
  await sql`drop function audit.ensure_partition(timestamptz)`.execute(db);
  await sql`drop table audit.retention_policy, audit.retention_records, audit.checkpoints, audit.chain_head, audit.events`.execute(db);
  await sql`drop function audit.refuse_change()`.execute(db);
}
