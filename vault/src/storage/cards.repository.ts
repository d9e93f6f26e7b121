// Single-query primitives over vault.cards; the services sequence them.
import { sql, type Kysely, type Transaction } from 'kysely';
import { assertAuditEvent, type AuditEvent } from '../../../lib/audit/event.js';
import type { CardsTable, VaultDatabase } from './database.js';

/**
 * Stores a card and its audit event in ONE statement (a data-modifying CTE is one transaction):
 * one round trip and one commit per tokenize, so the vault runs close to the database's commit
 * rate. Same guarantee as appendAuditEvent inside a transaction: both rows or neither.
 */
export async function insertCardWithAudit(db: Kysely<VaultDatabase>, row: CardsTable, event: AuditEvent): Promise<void> {
  assertAuditEvent(event);
  await db.with('card', (qb) => qb.insertInto('vault.cards').values(row))
    .insertInto('vault.audit_outbox')
    .values({ event_id: event.id, payload: JSON.stringify(event), created_at: new Date(event.occurredAt), published_at: null })
    .execute();
}

export type WrappedRow = Pick<CardsTable, 'token' | 'client_ref' | 'dek_wrapped' | 'kek_version'>;

/** Rows not yet under `activeVersion`, locked for re-wrapping; rows another worker holds are skipped. */
export async function lockRowsToRewrap(trx: Transaction<VaultDatabase>, activeVersion: number, limit: number): Promise<WrappedRow[]> {
  return trx.selectFrom('vault.cards')
    .select(['token', 'client_ref', 'dek_wrapped', 'kek_version'])
    .where('kek_version', '<>', activeVersion)
    .orderBy('token')
    .limit(limit)
    .forUpdate()
    .skipLocked()
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
    .groupBy('kek_version')
    .execute();
  return new Map(rows.map((r) => [r.kek_version, Number(r.n)]));
}
