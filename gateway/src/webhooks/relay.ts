// Moves undispatched merchant events into one delivery per matching endpoint (same merchant, mode,
// subscribed type). One statement with SKIP LOCKED: two gateway instances relaying at once never
// claim the same event, and an event is marked dispatched only together with its deliveries.
import { sql, type Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';

/** Returns the ids of the deliveries created, for the caller to enqueue. */
export async function relayMerchantEvents(db: Kysely<GatewayDatabase>, now: Date, batch = 500): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    with claimed as (
      update gateway.merchant_events set dispatched_at = ${now}
      where id in (select id from gateway.merchant_events where dispatched_at is null order by id limit ${batch} for update skip locked)
      returning id, merchant_id, livemode, type
    )
    insert into gateway.webhook_deliveries (id, endpoint_id, event_id, status, attempts, created_at)
    select gen_random_uuid(), e.id, c.id, 'pending', 0, ${now}
    from claimed c join gateway.webhook_endpoints e
      on e.merchant_id = c.merchant_id and e.livemode = c.livemode and c.type = any(e.events) and e.disabled_at is null
    on conflict (endpoint_id, event_id) do nothing
    returning id`.execute(db);
  return rows.map((r) => r.id);
}
