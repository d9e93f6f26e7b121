import { sql, type Kysely } from 'kysely';

// SP-14.2, SP-16, SP-19: a client's saved cards. Only the vault token and masked facts live here
// (never a PAN or CVV); one row per (client, vault fingerprint), so re-entering a card reuses it.
// SP-15.3: the distinct fingerprints a client has used per calendar month in Asia/Almaty time.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.cards (
    id uuid primary key,
    client_id uuid not null references gateway.clients (id),
    token text not null,
    fingerprint text not null,
    brand text not null,
    bin6 char(6) not null check (bin6 ~ '^[0-9]{6}$'),
    last4 char(4) not null check (last4 ~ '^[0-9]{4}$'),
    exp_month smallint not null check (exp_month between 1 and 12),
    exp_year smallint not null check (exp_year between 2000 and 2100),
    status text not null check (status in ('active', 'removed', 'blocked')),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (client_id, fingerprint)
  )`.execute(db);
  await sql`create index cards_client on gateway.cards (client_id) where status <> 'removed'`.execute(db);

  await sql`create table gateway.card_months (
    client_id uuid not null references gateway.clients (id),
    month date not null check (extract(day from month) = 1),
    fingerprints text[] not null check (cardinality(fingerprints) between 1 and 3),
    primary key (client_id, month)
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.card_months, gateway.cards`.execute(db);
}
