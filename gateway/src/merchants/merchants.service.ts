// Staff manage merchants and their secret keys (design.md, staff table). Each change is recorded in
// the transaction that makes it (SP-21); a key's secret is returned once and never stored or logged.
import { uuidv7 } from '../../../lib/uuidv7.js';
import { recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import { insertKey, insertMerchant, revokeKey, type KeyRow, type MerchantRow } from './merchants.repository.js';
import { httpsOrigin } from './return-origins.js';
import { newSecretKey } from './secret-keys.js';

export interface Staff {
  id: string;
  origin: RequestOrigin;
}

export async function createMerchant(
  ctx: GatewayContext,
  staff: Staff,
  input: { name: string; providerId: string; returnOrigins: string[] },
): Promise<MerchantRow> {
  const origins = input.returnOrigins.map((o) => {
    const origin = httpsOrigin(o);
    if (!origin) throw new DomainError('validation_failed', `returnOrigins: "${o.slice(0, 100)}" is not an https origin (https://host[:port], no path)`);
    return origin;
  });
  return ctx.db.transaction().execute(async (trx) => {
    const provider = await trx.selectFrom('gateway.providers').select('id').where('id', '=', input.providerId).where('active', '=', true).executeTakeFirst();
    if (!provider) throw new DomainError('provider_unknown', 'no such active provider');
    const now = ctx.clock.now();
    const merchant = await insertMerchant(trx, { id: uuidv7(now), name: input.name.trim(), providerId: provider.id, returnOrigins: [...new Set(origins)], now, by: staff.id });
    await recordAudit(trx, ctx.clock, staff.origin, {
      actor: { type: 'staff', id: staff.id }, action: 'merchant.created', outcome: 'success',
      targets: { merchantId: merchant.id }, details: { providerId: provider.id, returnOrigins: merchant.return_origins.join(' ') },
    });
    return merchant;
  });
}

export async function createKey(
  ctx: GatewayContext,
  staff: Staff,
  input: { merchantId: string; livemode: boolean; expiresAt?: Date },
): Promise<{ key: KeyRow; secret: string }> {
  const now = ctx.clock.now();
  if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) throw new DomainError('validation_failed', 'expiresAt is not a date');
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new DomainError('validation_failed', 'expiresAt must be in the future');
  const { secret, hash, last4 } = newSecretKey(input.livemode);
  const key = await ctx.db.transaction().execute(async (trx) => {
    const merchant = await trx.selectFrom('gateway.merchants').select('id').where('id', '=', input.merchantId).executeTakeFirst();
    if (!merchant) throw new DomainError('not_found', 'no such merchant');
    const row = await insertKey(trx, { id: uuidv7(now), merchantId: merchant.id, livemode: input.livemode, hash, last4, now, by: staff.id, expiresAt: input.expiresAt ?? null });
    await recordAudit(trx, ctx.clock, staff.origin, {
      actor: { type: 'staff', id: staff.id }, action: 'merchant_key.created', outcome: 'success',
      targets: { merchantId: merchant.id, merchantKeyId: row.id },
      details: { livemode: input.livemode, expiresAt: row.expires_at?.toISOString() ?? null },
    });
    return row;
  });
  return { key, secret };
}

export async function revokeMerchantKey(ctx: GatewayContext, staff: Staff, merchantId: string, keyId: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const revoked = await revokeKey(trx, merchantId, keyId, ctx.clock.now(), staff.id);
    if (!revoked) throw new DomainError('not_found', 'no such live key for this merchant');
    await recordAudit(trx, ctx.clock, staff.origin, {
      actor: { type: 'staff', id: staff.id }, action: 'merchant_key.revoked', outcome: 'success',
      targets: { merchantId, merchantKeyId: keyId }, details: { livemode: revoked.livemode },
    });
  });
}
