// SQL for saved cards (SP-14.2, SP-16, SP-19). Rows hold the vault token and masked facts only.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { preparedQuery } from '../../../lib/prepared-query.js';
import type { TokenizedCard } from './vault-api.js';

/**
 * Saves a card the client entered, or refreshes the saved row of the same card (same vault
 * fingerprint) with the new token. A blocked card stays blocked: the row comes back unchanged
 * and the caller refuses it (SP-19).
 */
export async function saveEnteredCard(db: Kysely<GatewayDatabase>, clientId: string, card: TokenizedCard, now: Date) {
  const row = await sql<{ id: string; status: 'active' | 'blocked' | 'removed'; brand: string; last4: string; inserted: boolean }>`
    insert into gateway.cards as c (id, client_id, token, fingerprint, brand, bin6, last4, exp_month, exp_year, status, created_at, updated_at)
    values (${uuidv7(now)}, ${clientId}, ${card.token}, ${card.fingerprint}, ${card.brand}, ${card.bin6}, ${card.last4},
            ${card.expMonth}, ${card.expYear}, 'active', ${now}, ${now})
    on conflict (client_id, fingerprint) do update
      set token = case when c.status = 'blocked' then c.token else excluded.token end,
          exp_month = case when c.status = 'blocked' then c.exp_month else excluded.exp_month end,
          exp_year = case when c.status = 'blocked' then c.exp_year else excluded.exp_year end,
          status = case when c.status = 'blocked' then c.status else 'active' end,
          updated_at = excluded.updated_at
    returning id, status, brand, last4, (xmax = 0) as inserted`.execute(db);
  return row.rows[0]!;
}

const clientCard = preparedQuery((db: Kysely<GatewayDatabase>, p: { clientId: string; cardId: string }) => db.selectFrom('gateway.cards')
  .select(['id', 'token', 'fingerprint', 'brand', 'last4', 'exp_month', 'exp_year', 'status'])
  .where('id', '=', p.cardId).where('client_id', '=', p.clientId).where('status', '<>', 'removed'));

export async function findClientCard(db: Kysely<GatewayDatabase>, clientId: string, cardId: string) {
  return clientCard.first(db, { clientId, cardId });
}

export async function listClientCards(db: Kysely<GatewayDatabase>, clientId: string) {
  return db.selectFrom('gateway.cards')
    .select(['id', 'brand', 'bin6', 'last4', 'exp_month', 'exp_year', 'status', 'created_at'])
    .where('client_id', '=', clientId).where('status', '<>', 'removed')
    .orderBy('created_at', 'desc').execute();
}

/** Removes a saved card; a blocked card stays on record as blocked. Returns the row changed. */
export async function removeClientCard(db: Kysely<GatewayDatabase>, clientId: string, cardId: string, now: Date) {
  return db.updateTable('gateway.cards').set({ status: 'removed', updated_at: now })
    .where('id', '=', cardId).where('client_id', '=', clientId).where('status', '=', 'active')
    .returning(['id', 'last4']).executeTakeFirst();
}

export async function blockCard(db: Kysely<GatewayDatabase>, cardId: string, now: Date) {
  return db.updateTable('gateway.cards').set({ status: 'blocked', updated_at: now })
    .where('id', '=', cardId).where('status', '<>', 'blocked')
    .returning(['id']).executeTakeFirst();
}

export async function cardToken(db: Kysely<GatewayDatabase>, cardId: string) {
  return db.selectFrom('gateway.cards').select(['token', 'status', 'last4']).where('id', '=', cardId).executeTakeFirstOrThrow();
}
