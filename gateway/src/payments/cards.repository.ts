// SQL for saved cards (SP-14.2, SP-16, SP-19). Rows hold the vault token and masked facts only.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { preparedQuery } from '../../../lib/prepared-query.js';
import type { TokenizedCard } from './vault-api.js';

/**
 * Saves a card the client entered, or refreshes the saved row of the same card (same vault
 * fingerprint) with the new token. A blocked card stays blocked: the row comes back unchanged
 * and the caller refuses it (SP-19). A token replaced here is no longer used by anything (payments
 * read their card's current token), so it is marked for deletion in the vault in this transaction
 * (SP-16, card-purge.ts); the new token is offered as a saved card only once a payment with it is
 * approved (`listed` below).
 */
export async function saveEnteredCard(db: Kysely<GatewayDatabase>, clientId: string, card: TokenizedCard, now: Date) {
  await adoptActiveFingerprint(db, clientId, card);
  const before = await sql<{ id: string; token: string; status: string }>`
    select id, token, status from gateway.cards where client_id = ${clientId} and fingerprint = ${card.fingerprint} for update`.execute(db);
  const row = await sql<{ id: string; status: 'active' | 'blocked' | 'removed'; brand: string; last4: string; inserted: boolean }>`
    insert into gateway.cards as c (id, client_id, token, fingerprint, brand, bin6, last4, exp_month, exp_year, status, created_at, updated_at, token_issued_at)
    values (${uuidv7(now)}, ${clientId}, ${card.token}, ${card.fingerprint}, ${card.brand}, ${card.bin6}, ${card.last4},
            ${card.expMonth}, ${card.expYear}, 'active', ${now}, ${now}, ${now})
    on conflict (client_id, fingerprint) do update
      set token = case when c.status = 'blocked' then c.token else excluded.token end,
          token_issued_at = case when c.status = 'blocked' then c.token_issued_at else excluded.token_issued_at end,
          exp_month = case when c.status = 'blocked' then c.exp_month else excluded.exp_month end,
          exp_year = case when c.status = 'blocked' then c.exp_year else excluded.exp_year end,
          status = case when c.status = 'blocked' then c.status else 'active' end,
          updated_at = excluded.updated_at
    returning id, status, brand, last4, (xmax = 0) as inserted`.execute(db);
  const replaced = before.rows[0];
  if (replaced && replaced.status !== 'blocked' && replaced.token !== card.token) {
    await markTokenForPurge(db, { token: replaced.token, clientId, cardId: replaced.id, now });
  }
  return row.rows[0]!;
}

/**
 * During a fingerprint key rotation, the client's row of this card may hold its fingerprint under
 * the vault's other key version: it takes the active one, so the row is found and refreshed rather
 * than a second row saved (vault/README.md "Fingerprint key rotation"). Row-locked like the save; a
 * row already holding the active value is left alone.
 */
async function adoptActiveFingerprint(db: Kysely<GatewayDatabase>, clientId: string, card: TokenizedCard): Promise<void> {
  if (card.otherFingerprints.length === 0) return;
  await sql`update gateway.cards c set fingerprint = ${card.fingerprint}
    where c.client_id = ${clientId} and c.fingerprint = any(${card.otherFingerprints}::text[])
      and not exists (select 1 from gateway.cards d where d.client_id = ${clientId} and d.fingerprint = ${card.fingerprint})`.execute(db);
}

/**
 * A card is offered as saved (listed, payable by its id) only once a payment made with its current
 * token was approved: card-on-file needs that first approved payment anyway, and a token never
 * approved is deleted by the vault after its window (vault/src/retention.ts), so a card whose first
 * payment expired, was declined or was refused (SP-15.3) is never offered.
 */
const listed = sql<boolean>`exists (select 1 from gateway.payments p
  where p.card_id = gateway.cards.id and p.created_at >= gateway.cards.token_issued_at
    and p.status in ('succeeded', 'partially_refunded', 'refunded'))`;

const clientCard = preparedQuery((db: Kysely<GatewayDatabase>, p: { clientId: string; cardId: string }) => db.selectFrom('gateway.cards')
  .select(['id', 'token', 'fingerprint', 'brand', 'last4', 'exp_month', 'exp_year', 'status'])
  .where('id', '=', p.cardId).where('client_id', '=', p.clientId).where('status', '<>', 'removed').where(listed));

export async function findClientCard(db: Kysely<GatewayDatabase>, clientId: string, cardId: string) {
  return clientCard.first(db, { clientId, cardId });
}

export async function listClientCards(db: Kysely<GatewayDatabase>, clientId: string) {
  return db.selectFrom('gateway.cards')
    .select(['id', 'brand', 'bin6', 'last4', 'exp_month', 'exp_year', 'status', 'created_at'])
    .where('client_id', '=', clientId).where('status', '<>', 'removed').where(listed)
    .orderBy('created_at', 'desc').execute();
}

/**
 * Removes a saved card; a blocked card stays on record as blocked. Returns the row changed. Its
 * token is marked for deletion in the vault in the same transaction (SP-16, card-purge.ts).
 */
export async function removeClientCard(db: Kysely<GatewayDatabase>, clientId: string, cardId: string, now: Date) {
  const row = await db.updateTable('gateway.cards').set({ status: 'removed', updated_at: now })
    .where('id', '=', cardId).where('client_id', '=', clientId).where('status', '=', 'active')
    .returning(['id', 'last4', 'token']).executeTakeFirst();
  if (row) await markTokenForPurge(db, { token: row.token, clientId, cardId: row.id, now });
  return row;
}

export interface TokenPurge {
  token: string;
  clientId: string;
  cardId: string;
}

/** Records that the vault must delete `token`'s card data; a token already marked stays as it is. */
export async function markTokenForPurge(db: Kysely<GatewayDatabase>, p: TokenPurge & { now: Date }): Promise<void> {
  await sql`insert into gateway.card_purges (token, client_id, card_id, requested_at)
    values (${p.token}, ${p.clientId}, ${p.cardId}, ${p.now}) on conflict (token) do nothing`.execute(db);
}

/**
 * Claims up to `limit` purges not attempted since `dueBefore` (oldest first), counting the attempt;
 * one sweeper's claim keeps another off the same rows.
 */
export async function claimDuePurges(db: Kysely<GatewayDatabase>, p: { now: Date; dueBefore: Date; limit: number }): Promise<TokenPurge[]> {
  const result = await sql<TokenPurge>`
    update gateway.card_purges set attempts = attempts + 1, attempted_at = ${p.now}
    where token in (select token from gateway.card_purges where coalesce(attempted_at, requested_at) < ${p.dueBefore}
                    order by coalesce(attempted_at, requested_at) limit ${p.limit} for update skip locked)
    returning token, client_id as "clientId", card_id as "cardId"`.execute(db);
  return result.rows;
}

/** The purge is done: the vault has deleted the token's card data (or never knew it). */
export async function deletePurge(db: Kysely<GatewayDatabase>, token: string): Promise<boolean> {
  const result = await sql`delete from gateway.card_purges where token = ${token}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}

export async function blockCard(db: Kysely<GatewayDatabase>, cardId: string, now: Date) {
  return db.updateTable('gateway.cards').set({ status: 'blocked', updated_at: now })
    .where('id', '=', cardId).where('status', '<>', 'blocked')
    .returning(['id']).executeTakeFirst();
}

export async function cardToken(db: Kysely<GatewayDatabase>, cardId: string) {
  return db.selectFrom('gateway.cards').select(['token', 'status', 'last4']).where('id', '=', cardId).executeTakeFirstOrThrow();
}
