// Deliveries as the merchant and the bank's staff see them, and a manual redelivery: the delivery
// goes back to pending (attempts kept as evidence) and is queued again. Who may see which delivery
// is the caller's filter: a merchant only its own endpoints' in its key's mode, staff any merchant's.
import { sql } from 'kysely';
import { recordAudit, type AuditInput, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { MerchantEventType } from '../merchants/merchant-events.js';

export interface DeliveryScope { merchantId: string; livemode?: boolean; endpointId?: string }

function scoped(ctx: GatewayContext, scope: DeliveryScope) {
  let q = ctx.db.selectFrom('gateway.webhook_deliveries as d')
    .innerJoin('gateway.webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('gateway.merchant_events as m', 'm.id', 'd.event_id')
    .where('e.merchant_id', '=', scope.merchantId);
  if (scope.livemode !== undefined) q = q.where('e.livemode', '=', scope.livemode);
  if (scope.endpointId !== undefined) q = q.where('e.id', '=', scope.endpointId);
  return q;
}

export async function listDeliveries(ctx: GatewayContext, scope: DeliveryScope, filter: { status?: 'pending' | 'succeeded' | 'failed'; limit?: number }) {
  let q = scoped(ctx, scope)
    .select(['d.id', 'd.endpoint_id', 'd.event_id', 'm.type', 'd.status', 'd.attempts', 'd.created_at', 'd.completed_at'])
    // The latest attempt's outcome, so a merchant sees why a delivery is not through.
    .select(sql<number | null>`(select a.status_code from gateway.webhook_attempts a where a.delivery_id = d.id order by a.started_at desc, a.id desc limit 1)`.as('last_status_code'))
    .select(sql<string | null>`(select a.error_class from gateway.webhook_attempts a where a.delivery_id = d.id order by a.started_at desc, a.id desc limit 1)`.as('last_error'))
    .orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(filter.limit ?? 20);
  if (filter.status) q = q.where('d.status', '=', filter.status);
  const rows = await q.execute();
  return {
    data: rows.map((r) => ({
      id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.type as MerchantEventType, status: r.status, attempts: r.attempts,
      createdAt: r.created_at.toISOString(), completedAt: r.completed_at?.toISOString() ?? null,
      lastStatusCode: r.last_status_code, lastError: r.last_error,
    })),
  };
}

export async function endpointExists(ctx: GatewayContext, scope: Required<DeliveryScope>): Promise<boolean> {
  const row = await ctx.db.selectFrom('gateway.webhook_endpoints').select('id')
    .where('id', '=', scope.endpointId).where('merchant_id', '=', scope.merchantId).where('livemode', '=', scope.livemode).executeTakeFirst();
  return row !== undefined;
}

/**
 * Puts one delivery back to pending and queues it (ctx.webhooks; without a running dispatcher it
 * is queued when one starts). A disabled endpoint's delivery cannot be redelivered. Redeliveries
 * while the delivery is pending or being attempted add no job (the job id is the delivery id), so
 * they make one attempt between them; one after that attempt ended makes another: at least once.
 */
export async function redeliver(ctx: GatewayContext, scope: { merchantId?: string; livemode?: boolean }, origin: RequestOrigin, id: string, actor: AuditInput['actor']): Promise<{ id: string; status: 'pending' }> {
  await ctx.db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('gateway.webhook_deliveries as d')
      .innerJoin('gateway.webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .select(['d.id', 'e.merchant_id', 'e.disabled_at'])
      .where('d.id', '=', id)
      .$if(scope.merchantId !== undefined, (q) => q.where('e.merchant_id', '=', scope.merchantId!))
      .$if(scope.livemode !== undefined, (q) => q.where('e.livemode', '=', scope.livemode!))
      .executeTakeFirst();
    if (!found) throw new DomainError('not_found', 'no such webhook delivery');
    if (found.disabled_at) throw new DomainError('conflict', 'the webhook endpoint is disabled');
    await trx.updateTable('gateway.webhook_deliveries').set({ status: 'pending', completed_at: null }).where('id', '=', id).execute();
    await recordAudit(trx, ctx.clock, origin, {
      actor, action: 'webhook_delivery.redelivered', outcome: 'success',
      targets: { merchantId: found.merchant_id, webhookDeliveryId: id },
    });
  });
  await ctx.webhooks?.enqueue([id]);
  return { id, status: 'pending' };
}
