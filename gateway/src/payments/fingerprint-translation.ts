// Step 3 of a fingerprint key rotation (vault/README.md "Fingerprint key rotation"): once the vault
// has re-fingerprinted its cards, the gateway rewrites every fingerprint it stored under the old
// key version (saved cards, SP-15.3 card months) to the card's active-version value, page by page,
// so the old version can be retired. Each page is one transaction of two statements, each row
// rewritten under its row lock: a payment claiming a card at the same moment waits or is waited for,
// and sees either value of the card, never both. Idempotency digests are not rewritten: they live
// 24 hours, and the retirement waits that long (a retry after it would get 409, never a second payment).
import { sql, type Kysely } from 'kysely';
import type { VaultClient } from '../../../lib/vault-client.js';
import type { GatewayDatabase } from '../database.js';
import { fingerprintTranslations, type FingerprintTranslation } from './vault-api.js';

const UNIQUE_VIOLATION = '23505';
const ATTEMPTS = 3;

export interface TranslationResult {
  pairs: number;
  cards: number;
  months: number;
}

/**
 * A client whose two rows are one card under both versions (a row saved under each, e.g. a card
 * the vault had already deleted when re-fingerprinting) keeps the old row as it is: the unique
 * (client, fingerprint) allows only one row per value.
 */
async function applyPage(db: Kysely<GatewayDatabase>, page: readonly FingerprintTranslation[]): Promise<{ cards: number; months: number }> {
  const from = page.map((p) => p.from);
  const to = page.map((p) => p.to);
  return db.transaction().execute(async (trx) => {
    const cards = await sql`update gateway.cards c set fingerprint = t.to_fp
      from unnest(${from}::text[], ${to}::text[]) as t(from_fp, to_fp)
      where c.fingerprint = t.from_fp
        and not exists (select 1 from gateway.cards d where d.client_id = c.client_id and d.fingerprint = t.to_fp)`.execute(trx);
    const months = await sql`update gateway.card_months m set fingerprints = array(
        select f from (
          select coalesce(t.to_fp, u.f) as f, min(u.n) as n
          from unnest(m.fingerprints) with ordinality as u(f, n)
          left join unnest(${from}::text[], ${to}::text[]) as t(from_fp, to_fp) on t.from_fp = u.f
          group by 1) s
        order by n)
      where m.fingerprints && ${from}::text[]`.execute(trx);
    return { cards: Number(cards.numAffectedRows ?? 0n), months: Number(months.numAffectedRows ?? 0n) };
  });
}

/** Pages through the vault's translations and applies them; safe to run again (a translated value matches no pair). */
export async function translateFingerprints(
  db: Kysely<GatewayDatabase>, vault: VaultClient, opts: { pageSize?: number; onPage?: (result: TranslationResult) => void } = {},
): Promise<TranslationResult> {
  const total: TranslationResult = { pairs: 0, cards: 0, months: 0 };
  let after: string | undefined;
  for (;;) {
    const page = await fingerprintTranslations(vault, after, opts.pageSize ?? 500);
    if (page.length === 0) return total;
    for (let attempt = 1; ; attempt++) {
      try {
        const done = await applyPage(db, page);
        total.cards += done.cards;
        total.months += done.months;
        break;
      } catch (err) {
        // A payment saved the card's active value for the same client between the statement's
        // snapshot and its row lock: the next attempt sees that row and leaves the old one.
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION || attempt === ATTEMPTS) throw err;
      }
    }
    total.pairs += page.length;
    opts.onPage?.(total);
    after = page[page.length - 1]!.from;
  }
}
