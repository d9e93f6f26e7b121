// SP-15.3: a client uses at most 3 distinct cards (by vault fingerprint, not by token) in one
// calendar month of Kazakhstan time (Asia/Almaty), counted from the moment a payment with the
// card is created. One statement decides: ON CONFLICT DO UPDATE locks the (client, month) row
// and re-checks its latest committed version, so however many payments race, a 4th distinct
// fingerprint never gets in. The lock is held until the payment's transaction ends; a payment
// that rolls back takes its card back out of the month.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { GatewayDatabase } from '../database.js';

export const CARDS_PER_MONTH = 3;

/**
 * The claim as one INSERT … RETURNING: a row when `fingerprint` is now among the client's cards of
 * the month, none when it would be a 4th. For a data-modifying WITH that writes the payment with it.
 */
export function cardMonthClaim(clientId: string, fingerprint: string, now: Date): RawBuilder<{ cards: number }> {
  return sql<{ cards: number }>`
    insert into gateway.card_months as m (client_id, month, fingerprints)
    values (${clientId}, date_trunc('month', ${now}::timestamptz at time zone 'Asia/Almaty')::date, array[${fingerprint}::text])
    on conflict (client_id, month) do update
      set fingerprints = case when ${fingerprint}::text = any(m.fingerprints) then m.fingerprints
                              else array_append(m.fingerprints, ${fingerprint}::text) end
      where ${fingerprint}::text = any(m.fingerprints) or cardinality(m.fingerprints) < ${CARDS_PER_MONTH}
    returning cardinality(fingerprints) as cards`;
}

/** Records `fingerprint` for the client's current Almaty month; false when it would be a 4th card. */
export async function claimCardForMonth(
  db: Kysely<GatewayDatabase>,
  clientId: string,
  fingerprint: string,
  now: Date,
): Promise<boolean> {
  return (await cardMonthClaim(clientId, fingerprint, now).execute(db)).rows.length === 1;
}

