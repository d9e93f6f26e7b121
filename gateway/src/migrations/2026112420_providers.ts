import { sql, type Kysely } from 'kysely';

// SP-14: the service providers a client can pay, each with its payment parameters described as
// a schema (name, label, anchored pattern) and its amount range in minor units of KZT.
const PROVIDERS = [
  ['kcell', 'Kcell', 'mobile', 10_000, 10_000_000, [{ name: 'phone', label: 'Subscriber phone number', pattern: '^\\+77[0-9]{9}$', example: '+77011234567' }]],
  ['beeline-kz', 'Beeline Kazakhstan', 'mobile', 10_000, 10_000_000, [{ name: 'phone', label: 'Subscriber phone number', pattern: '^\\+77[0-9]{9}$', example: '+77051234567' }]],
  ['tele2-altel', 'Tele2 / Altel', 'mobile', 10_000, 10_000_000, [{ name: 'phone', label: 'Subscriber phone number', pattern: '^\\+77[0-9]{9}$', example: '+77071234567' }]],
  ['alseco', 'Alseco utilities', 'utilities', 10_000, 50_000_000, [
    { name: 'account', label: 'Personal account number', pattern: '^[0-9]{9}$', example: '123456789' },
    { name: 'period', label: 'Billing period (YYYY-MM)', pattern: '^20[0-9]{2}-(0[1-9]|1[0-2])$', example: '2026-11' },
  ]],
  ['almaty-su', 'Almaty Su water', 'utilities', 10_000, 20_000_000, [{ name: 'account', label: 'Subscriber account', pattern: '^[0-9]{8}$', example: '12345678' }]],
  ['kazakhtelecom', 'Kazakhtelecom home internet', 'internet', 10_000, 20_000_000, [{ name: 'account', label: 'Contract number', pattern: '^[0-9]{10}$', example: '7271234567' }]],
  ['beeline-home', 'Beeline home internet', 'internet', 10_000, 20_000_000, [{ name: 'login', label: 'Internet login', pattern: '^[a-z][a-z0-9_]{2,31}$', example: 'user_123' }]],
  ['onay', 'Onay transport card', 'transport', 5_000, 2_000_000, [{ name: 'account', label: 'Onay card number', pattern: '^[0-9]{10}$', example: '9643101234' }]],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.providers (
    id text primary key check (id ~ '^[a-z0-9-]{2,40}$'),
    name text not null,
    category text not null check (category in ('mobile', 'utilities', 'internet', 'transport')),
    currency char(3) not null default 'KZT' check (currency = 'KZT'),
    min_amount bigint not null check (min_amount > 0),
    max_amount bigint not null check (max_amount >= min_amount),
    params jsonb not null check (jsonb_typeof(params) = 'array'),
    active boolean not null default true
  )`.execute(db);
  for (const [id, name, category, min, max, params] of PROVIDERS) {
    await sql`insert into gateway.providers (id, name, category, min_amount, max_amount, params)
              values (${id}, ${name}, ${category}, ${min}, ${max}, ${JSON.stringify(params)}::jsonb)`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table gateway.providers`.execute(db);
}
