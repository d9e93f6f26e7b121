// Single-query primitives of card data retention (SP-16, PCI DSS 3.2.1; retention.ts sequences
// them). A card is deleted by turning its row into a tombstone: the token, client, brand, BIN and
// last 4 stay for the authorizations that name it; the ciphertext, the wrapped data key, its KEK
// version, the fingerprint (with its key version and any previous fingerprint) and the stored
// credential's network transaction id are nulled.
import { sql, type Transaction } from 'kysely';
import { assertAuditEvent, type AuditEvent } from '../../../lib/audit/event.js';
import type { CardDeletionReason, CardsTable, VaultDatabase } from './database.js';

export type CardToDelete = Pick<CardsTable, 'token' | 'client_ref' | 'fingerprint' | 'kek_version' | 'deleted_at'>;

/**
 * Live cards created before `cutoff` with no approved authorization and no authorization touched
 * since `cutoff`, oldest first, locked. SKIP LOCKED passes over a card an authorization is using
 * right now (its claim holds a key-share lock on the card until it commits): that card is
 * judged again by a later sweep, once its outcome is known.
 */
export async function lockUnusedCards(trx: Transaction<VaultDatabase>, cutoff: Date, limit: number): Promise<CardToDelete[]> {
  const result = await sql<CardToDelete>`
    select c.token, c.client_ref, c.fingerprint, c.kek_version, c.deleted_at from vault.cards c
    where c.deleted_at is null and c.created_at < ${cutoff}
      and not exists (select 1 from vault.authorizations a
                      where a.token = c.token and (a.outcome = 'approved' or a.updated_at >= ${cutoff}))
    order by c.created_at
    limit ${limit}
    for update of c skip locked`.execute(trx);
  return result.rows;
}

/** The client's card, locked (waits for an authorization using it to commit); undefined if unknown. */
export async function lockClientCard(trx: Transaction<VaultDatabase>, token: string, clientRef: string): Promise<CardToDelete | undefined> {
  return trx.selectFrom('vault.cards')
    .select(['token', 'client_ref', 'fingerprint', 'kek_version', 'deleted_at'])
    .where('token', '=', token).where('client_ref', '=', clientRef)
    .forUpdate()
    .executeTakeFirst();
}

export interface Tombstoning {
  reason: CardDeletionReason;
  at: Date;
  /** For `never_used`: the window's start; the card must still have no approved or recent authorization. */
  cutoff?: Date;
  /** One event per card, keyed by token; only the events of the cards actually deleted are stored. */
  events: ReadonlyMap<string, AuditEvent>;
}

/**
 * Deletes the data of the given (locked) cards and stores the events of those deleted, in one
 * statement; returns their tokens. Run after the cards were locked, it reads a newer snapshot than
 * the lock's statement, so an authorization approved between that statement's start and its lock
 * is seen here and its card kept; any later one waits for this transaction and then finds the
 * tombstone (findCardAndClaim locks the card it reads).
 */
export async function tombstoneCards(trx: Transaction<VaultDatabase>, t: Tombstoning): Promise<string[]> {
  const tokens = [...t.events.keys()];
  if (tokens.length === 0) return [];
  const events = [...t.events.values()];
  for (const e of events) assertAuditEvent(e);
  const result = await sql<{ token: string }>`
    with gone as (
      update vault.cards c set card_ciphertext = null, dek_wrapped = null, kek_version = null, fingerprint = null,
        fingerprint_version = null, previous_fingerprint = null, network_transaction_id = null,
        deleted_at = ${t.at}, deletion_reason = ${t.reason}
      where c.token = any(${tokens}::text[]) and c.deleted_at is null
        and (${t.cutoff ?? null}::timestamptz is null or not exists (
          select 1 from vault.authorizations a
          where a.token = c.token and (a.outcome = 'approved' or a.updated_at >= ${t.cutoff ?? null}::timestamptz)))
      returning c.token
    ), audited as (
      insert into vault.audit_outbox (event_id, payload, created_at)
      select e.id, e.payload, e.at
      from unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => JSON.stringify(e))}::jsonb[],
                  ${events.map((e) => e.occurredAt)}::timestamptz[], ${tokens}::text[]) as e(id, payload, at, token)
      where e.token in (select token from gone)
    )
    select token from gone`.execute(trx);
  return result.rows.map((r) => r.token);
}
