// SP-15.3: a client uses at most 3 distinct cards (by vault fingerprint, not by token) in one
// calendar month of Kazakhstan time (Asia/Almaty), counted from the moment a payment with the
// card is created. One statement decides: ON CONFLICT DO UPDATE locks the (client, month) row
// and re-checks its latest committed version, so however many payments race, a 4th distinct
// fingerprint never gets in. The lock is held until the payment's transaction ends; a payment
// that rolls back takes its card back out of the month.
//
// During a fingerprint key rotation the vault names the card under both key versions: the card is
// the same one if either is in the month, and its entry is rewritten to the active version's value,
// so a card entered before and after the switch counts once (vault/README.md "Fingerprint key
// rotation"); the same statement, so the same lock, decides.
import { sql, type RawBuilder } from 'kysely';

export const CARDS_PER_MONTH = 3;

/**
/**
 * The claim as one INSERT … RETURNING: a row when `fingerprint` is now among the client's cards of
 * the month, none when it would be a 4th. For a data-modifying WITH that writes the payment with it.
 * `others` are the same card's fingerprints under the vault's other key version (rotation only).
 */
export function cardMonthClaim(clientId: string, fingerprint: string, now: Date, others: readonly string[] = []): RawBuilder<{ cards: number }> {
  const same = [fingerprint, ...others];
  return sql<{ cards: number }>`
    insert into gateway.card_months as m (client_id, month, fingerprints)
    values (${clientId}, date_trunc('month', ${now}::timestamptz at time zone 'Asia/Almaty')::date, array[${fingerprint}::text])
    on conflict (client_id, month) do update
      set fingerprints = case when m.fingerprints && ${same}::text[] then ${sameCardAs(sql`m.fingerprints`, same, fingerprint)}
                              else array_append(m.fingerprints, ${fingerprint}::text) end
      where m.fingerprints && ${same}::text[] or cardinality(m.fingerprints) < ${CARDS_PER_MONTH}
    returning cardinality(fingerprints) as cards`;
}

/** `fingerprints` with every value in `from` replaced by `to`, in their order, each value once. */
function sameCardAs(fingerprints: RawBuilder<unknown>, from: readonly string[], to: string): RawBuilder<string[]> {
  return sql<string[]>`array(select f from (
      select case when u.f = any(${from}::text[]) then ${to}::text else u.f end as f, min(u.n) as n
      from unnest(${fingerprints}) with ordinality as u(f, n) group by 1) s order by n)`;
}
