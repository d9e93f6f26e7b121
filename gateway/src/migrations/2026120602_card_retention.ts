import { sql, type Kysely } from 'kysely';

// SP-16 / PCI DSS 3.2.1: card data is kept no longer than needed (payments/card-purge.ts).
// - card_purges: vault tokens whose card data the vault must delete (a card the client removed, or
//   a saved card's earlier token replaced when the card was entered again). A row is written in
//   the transaction that makes the token unused and deleted once the vault has confirmed; the
//   payments sweep asks again for the rows the vault did not answer.
// - cards.token_issued_at: when the row's current token was issued. A card is offered as saved
//   (GET /v1/cards, a payment by cardId) only once a payment with that token was approved: until
//   then the vault may delete the token after its window (vault/src/retention.ts).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table gateway.card_purges (
    token text primary key,
    client_id uuid not null references gateway.clients (id),
    card_id uuid not null references gateway.cards (id),
    requested_at timestamptz not null,
    attempts integer not null default 0 check (attempts >= 0),
    attempted_at timestamptz
  )`.execute(db);
  await sql`create index card_purges_due on gateway.card_purges ((coalesce(attempted_at, requested_at)))`.execute(db);
  await sql`alter table gateway.cards add column token_issued_at timestamptz`.execute(db);
  await sql`update gateway.cards set token_issued_at = created_at`.execute(db);
  await sql`alter table gateway.cards alter column token_issued_at set not null`.execute(db);
  // "Has this card an approved payment with its current token": looked up per listed card.
  await sql`create index payments_card_approved on gateway.payments (card_id, created_at)
            where status in ('succeeded', 'partially_refunded', 'refunded')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index gateway.payments_card_approved`.execute(db);
  await sql`alter table gateway.cards drop column token_issued_at`.execute(db);
  await sql`drop table gateway.card_purges`.execute(db);
}
