// Single-query primitives over vault.cards; the services sequence them.
import { sql, type Kysely, type Transaction } from 'kysely';
import { assertAuditEvent, type AuditEvent } from '../../../lib/audit/event.js';
import type { LiveCard, VaultDatabase } from './database.js';

export interface NewCard {
  /** A new card has no stored credential yet: its first approved authorization gives it one. */
  row: Omit<LiveCard, 'deleted_at' | 'deletion_reason' | 'network_transaction_id'>;
  event: AuditEvent;
}

/**
 * Stores cards with their audit events in ONE statement (a data-modifying CTE is one
 * transaction): every card and its event, or nothing. The statement text and its 16 parameters
 * are the same for one card or hundreds (column arrays, unnested), so group commit
 * (group-commit.ts) pays one round trip and one commit for a whole batch.
 */
export async function insertCardsWithAudit(db: Kysely<VaultDatabase>, cards: readonly NewCard[]): Promise<void> {
  for (const { event } of cards) assertAuditEvent(event);
  const column = <K extends keyof NewCard['row']>(key: K) => cards.map((c) => c.row[key]);
  await sql`with card as (
      insert into vault.cards
        (token, client_ref, fingerprint, fingerprint_version, previous_fingerprint, brand, bin6, last4, issuer_country,
         card_ciphertext, dek_wrapped, kek_version, created_at)
      select * from unnest(${column('token')}::text[], ${column('client_ref')}::text[], ${column('fingerprint')}::text[],
        ${column('fingerprint_version')}::int[], ${column('previous_fingerprint')}::text[],
        ${column('brand')}::text[], ${column('bin6')}::text[], ${column('last4')}::text[], ${column('issuer_country')}::text[],
        ${column('card_ciphertext')}::bytea[], ${column('dek_wrapped')}::bytea[], ${column('kek_version')}::int[],
        ${column('created_at')}::timestamptz[])
    )
    insert into vault.audit_outbox (event_id, payload, created_at)
    select * from unnest(${cards.map((c) => c.event.id)}::uuid[], ${cards.map((c) => JSON.stringify(c.event))}::jsonb[],
      ${cards.map((c) => c.event.occurredAt)}::timestamptz[])`.execute(db);
}

export type WrappedRow = Pick<LiveCard, 'token' | 'client_ref' | 'dek_wrapped' | 'kek_version'>;

/** Rows not yet under `activeVersion`, locked for re-wrapping; rows another worker holds are skipped. */
export async function lockRowsToRewrap(trx: Transaction<VaultDatabase>, activeVersion: number, limit: number): Promise<WrappedRow[]> {
  return trx.selectFrom('vault.cards')
    .select(['token', 'client_ref', 'dek_wrapped', 'kek_version'])
    .where('kek_version', '<>', activeVersion)
    .orderBy('token')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    // A deleted card has no key version, so `<>` never selects one.
    .$narrowType<{ kek_version: number; dek_wrapped: Buffer }>()
    .execute();
}

export interface Rewrapped {
  token: string;
  fromVersion: number;
  wrapped: Buffer;
  kekVersion: number;
}

/** One statement for a whole batch; a row whose version changed meanwhile is left alone. */
export async function updateWrappedKeys(trx: Transaction<VaultDatabase>, rows: Rewrapped[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`update vault.cards c set dek_wrapped = v.wrapped, kek_version = v.kek_version
    from (select unnest(${rows.map((r) => r.token)}::text[]) as token,
                 unnest(${rows.map((r) => r.wrapped)}::bytea[]) as wrapped,
                 unnest(${rows.map((r) => r.kekVersion)}::int[]) as kek_version,
                 unnest(${rows.map((r) => r.fromVersion)}::int[]) as from_version) v
    where c.token = v.token and c.kek_version = v.from_version`.execute(trx);
}

export async function countByKekVersion(db: Kysely<VaultDatabase>): Promise<Map<number, number>> {
  const rows = await db.selectFrom('vault.cards')
    .select(['kek_version', (eb) => eb.fn.countAll<number>().as('n')])
    .where('kek_version', 'is not', null)
    .groupBy('kek_version')
    .$narrowType<{ kek_version: number }>()
    .execute();
  return new Map(rows.map((r) => [r.kek_version, Number(r.n)]));
}
