import { sql, type Kysely } from 'kysely';

// Merchants' secret API keys: shown once, kept only as a SHA-256 of the secret (32 random bytes, so
// no dictionary reaches it and no key is needed). Several per merchant for rotation; revoked and
// expired keys stay as evidence of what was used when. last_used_at is refreshed at most once a
// minute per key (merchants/merchant-auth.ts), so a busy key does not rewrite its row per request.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.merchant_keys (
    id uuid primary key,
    merchant_id uuid not null references gateway.merchants (id),
    livemode boolean not null,
    secret_hash bytea not null unique check (length(secret_hash) = 32),
    last4 char(4) not null,
    created_at timestamptz not null,
    created_by text not null,
    expires_at timestamptz,
    revoked_at timestamptz,
    revoked_by text,
    last_used_at timestamptz
  )`.execute(db);
  await sql`create index merchant_keys_by_merchant on gateway.merchant_keys (merchant_id, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.merchant_keys`.execute(db);
}
