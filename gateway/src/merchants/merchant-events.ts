// The events a merchant's webhooks carry (design.md: `{id, type, createdAt, data}`). They are
// written in the transaction of the change that causes them, like the audit outbox (SP-21): a
// committed payment always has its event, a rolled-back one never does. Delivery is the webhook
// dispatcher's job; nothing here waits on a merchant's server.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayDatabase } from '../database.js';

export const MERCHANT_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.expired',
  'payment.succeeded',
  'payment.failed',
  'refund.succeeded',
  'refund.failed',
  'dispute.opened',
  'dispute.closed',
] as const;

export type MerchantEventType = (typeof MERCHANT_EVENT_TYPES)[number];

export interface MerchantEvent {
  merchantId: string;
  livemode: boolean;
  type: MerchantEventType;
  /** The session, payment, refund or dispute as the merchant API shows it: never card data beyond brand and last 4. */
  data: Record<string, unknown>;
}

/** Writes the event inside `trx`, the caller's business transaction; returns its id. */
export async function recordMerchantEvent(trx: Kysely<GatewayDatabase>, event: MerchantEvent, now: Date): Promise<string> {
  const id = uuidv7(now);
  await trx.insertInto('gateway.merchant_events').values({
    id, merchant_id: event.merchantId, livemode: event.livemode, type: event.type,
    data: JSON.stringify(event.data), created_at: now, dispatched_at: null,
  }).execute();
  return id;
}
