import { sql, type Kysely } from 'kysely';

// SP-5 … SP-11, SP-13: clients (login = E.164 phone), one-time codes (only their HMAC),
// phone verifications, sessions (only the token's SHA-256), the login lockout counter keyed by
// phone (known or not), and pending password changes.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.clients (
    id uuid primary key,
    phone text not null unique check (phone ~ '^\\+7[0-9]{10}$'),
    name text not null,
    birth_date date not null,
    password_hash text not null,
    created_at timestamptz not null,
    password_changed_at timestamptz not null,
    blocked_at timestamptz,
    blocked_reason text,
    blocked_by text
  )`.execute(db);

  await sql`create table gateway.otps (
    id uuid primary key,
    purpose text not null check (purpose in ('verification', 'password_change', 'password_reset', 'payment')),
    subject_id text not null,
    phone text not null,
    key_id text not null,
    code_hash bytea not null,
    attempts integer not null default 0 check (attempts between 0 and 3),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
  )`.execute(db);
  await sql`create index otps_subject on gateway.otps (purpose, subject_id, created_at desc)`.execute(db);

  await sql`create table gateway.verifications (
    id uuid primary key,
    phone text not null,
    created_at timestamptz not null,
    confirmed_at timestamptz,
    token_hash bytea unique,
    token_expires_at timestamptz,
    token_used_at timestamptz
  )`.execute(db);

  await sql`create table gateway.sessions (
    id uuid primary key,
    client_id uuid not null references gateway.clients (id),
    token_hash bytea not null unique,
    created_at timestamptz not null,
    last_seen_at timestamptz not null,
    expires_at timestamptz not null,
    revoked_at timestamptz,
    ip text,
    user_agent text
  )`.execute(db);
  await sql`create index sessions_client on gateway.sessions (client_id) where revoked_at is null`.execute(db);

  await sql`create table gateway.login_attempts (
    phone text primary key,
    failures integer not null default 0 check (failures between 0 and 3),
    pending integer not null default 0 check (pending >= 0),
    pending_until timestamptz,
    locked_until timestamptz,
    updated_at timestamptz not null
  )`.execute(db);

  await sql`create table gateway.password_changes (
    id uuid primary key,
    client_id uuid not null references gateway.clients (id),
    session_id uuid not null,
    new_password_hash text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    confirmed_at timestamptz
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.password_changes, gateway.login_attempts, gateway.sessions,
    gateway.verifications, gateway.otps, gateway.clients`.execute(db);
}
