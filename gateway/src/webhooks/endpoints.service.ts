// Merchants' webhook endpoints: register (URL judged by the SSRF guard under the key's mode), list,
// disable, rotate the signing secret. Each change is audited in its own transaction (SP-21); the
// secret is returned once and kept only sealed (secret-box.ts).
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { AuthenticatedMerchant } from '../merchants/merchant-auth.js';
import type { MerchantEventType } from '../merchants/merchant-events.js';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { newWebhookSecret, sealSecret } from './secret-box.js';
import { checkWebhookUrl, type Resolve, systemResolve } from './ssrf-guard.js';

/** After a rotation the previous secret keeps signing this long, so the merchant can roll its verifier. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;

const merchantActor = (m: AuthenticatedMerchant) => ({ type: 'merchant' as const, id: m.id });

interface EndpointRow { id: string; url: string; events: string[]; created_at: Date }

export function endpointView(row: EndpointRow) {
  return { id: row.id, url: row.url, events: row.events as MerchantEventType[], createdAt: row.created_at.toISOString() };
}

export async function createEndpoint(ctx: GatewayContext, merchant: AuthenticatedMerchant, origin: RequestOrigin, body: { url: string; events: string[] }, resolve: Resolve = systemResolve) {
  const refusal = await checkWebhookUrl(body.url, { livemode: merchant.livemode, allowedHosts: ctx.config.webhooks.allowedHosts }, resolve);
  if (refusal) throw new DomainError('webhook_url_not_allowed', `webhook URL refused: ${refusal}`);
  const now = ctx.clock.now();
  const id = uuidv7(now);
  const secret = newWebhookSecret();
  return ctx.db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('gateway.webhook_endpoints').values({
      id, merchant_id: merchant.id, livemode: merchant.livemode, url: new URL(body.url).toString(), events: body.events,
      secret_sealed: sealSecret(ctx.config.webhooks.secretKey, id, secret),
      previous_secret_sealed: null, previous_secret_expires_at: null, created_at: now, disabled_at: null,
    }).returning(['id', 'url', 'events', 'created_at']).executeTakeFirstOrThrow();
    await recordAudit(trx, ctx.clock, origin, {
      actor: merchantActor(merchant), action: 'webhook_endpoint.created', outcome: 'success',
      targets: { merchantId: merchant.id, merchantKeyId: merchant.keyId, webhookEndpointId: id },
      details: { livemode: merchant.livemode, events: body.events.join(',') },
    });
    return { ...endpointView(row), secret };
  });
}

export async function listEndpoints(ctx: GatewayContext, merchant: AuthenticatedMerchant) {
  const rows = await ctx.db.selectFrom('gateway.webhook_endpoints').select(['id', 'url', 'events', 'created_at'])
    .where('merchant_id', '=', merchant.id).where('livemode', '=', merchant.livemode).where('disabled_at', 'is', null)
    .orderBy('id').execute();
  return { data: rows.map(endpointView) };
}

/** Disables the endpoint (its deliveries stay as evidence); another merchant's or a disabled one is 404. */
export async function disableEndpoint(ctx: GatewayContext, merchant: AuthenticatedMerchant, origin: RequestOrigin, id: string): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (trx) => {
    const row = await trx.updateTable('gateway.webhook_endpoints').set({ disabled_at: now })
      .where('id', '=', id).where('merchant_id', '=', merchant.id).where('livemode', '=', merchant.livemode).where('disabled_at', 'is', null)
      .returning('id').executeTakeFirst();
    if (!row) throw new DomainError('not_found', 'no such webhook endpoint');
    await recordAudit(trx, ctx.clock, origin, {
      actor: merchantActor(merchant), action: 'webhook_endpoint.disabled', outcome: 'success',
      targets: { merchantId: merchant.id, merchantKeyId: merchant.keyId, webhookEndpointId: id },
    });
  });
}

/** A new secret; the current one becomes the previous and keeps signing for ROTATION_GRACE_MS. */
export async function rotateSecret(ctx: GatewayContext, merchant: AuthenticatedMerchant, origin: RequestOrigin, id: string) {
  const now = ctx.clock.now();
  const secret = newWebhookSecret();
  return ctx.db.transaction().execute(async (trx) => {
    const row = await trx.updateTable('gateway.webhook_endpoints')
      .set((eb) => ({
        previous_secret_sealed: eb.ref('secret_sealed'),
        previous_secret_expires_at: new Date(now.getTime() + ROTATION_GRACE_MS),
        secret_sealed: sealSecret(ctx.config.webhooks.secretKey, id, secret),
      }))
      .where('id', '=', id).where('merchant_id', '=', merchant.id).where('livemode', '=', merchant.livemode).where('disabled_at', 'is', null)
      .returning(['id', 'url', 'events', 'created_at']).executeTakeFirst();
    if (!row) throw new DomainError('not_found', 'no such webhook endpoint');
    await recordAudit(trx, ctx.clock, origin, {
      actor: merchantActor(merchant), action: 'webhook_endpoint.secret_rotated', outcome: 'success',
      targets: { merchantId: merchant.id, merchantKeyId: merchant.keyId, webhookEndpointId: id },
      details: { previousValidUntil: new Date(now.getTime() + ROTATION_GRACE_MS).toISOString() },
    });
    return { ...endpointView(row), secret };
  });
}
