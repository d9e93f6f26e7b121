import { sql, type Kysely } from 'kysely';

// SP-14.2: a saved card is charged as a stored credential (card-on-file). The network transaction
// id of the card's first approved initial authorization is kept with the card and sent with its
// later authorizations instead of a CVV. Not card data (it is the network's reference to a past
// transaction), and it never leaves the vault: no response and no audit event carries it. Null
// until a first authorization is approved; a card whose first payment is declined or abandoned
// needs its CVV once more.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.cards add column network_transaction_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table vault.cards drop column network_transaction_id`.execute(db);
}
