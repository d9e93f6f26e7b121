// Checkout sessions (issue 15 item 2): a merchant fixes amount, currency and payee (its provider);
// the customer brings only the card. Paying a session is a payment like any other (payments.service:
// KZ-only cards, 3 cards a month, an SMS code naming amount, merchant and card, 3-D Secure), made in
// one transaction with the session's claim, so a session never has two payments in flight.
import { randomBytes } from 'node:crypto';
import { AuditBatch, recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError } from '../errors.js';
import type { AuthenticatedMerchant } from '../merchants/merchant-auth.js';
import { recordMerchantEvent } from '../merchants/merchant-events.js';
import { returnUrlAllowed } from '../merchants/return-origins.js';
import type { FinishIdempotent } from '../payments/idempotent-request.js';
import type { CardChoice } from '../payments/payments.schema.js';
import type { PaymentView } from '../payments/payments.schema.js';
import { createPayment, type Payer } from '../payments/payments.service.js';
import { validatePaymentTarget } from '../payments/providers.service.js';
import type { Static } from '@sinclair/typebox';
import type { CreateSessionBody } from './checkout.schema.js';
import { sessionView } from './checkout.view.js';
import {
  claimSessionForPayment, expireSessions, findMerchantSession, findSession, insertSession, type SessionRow,
} from './sessions.repository.js';

export const SESSION_DEFAULT_MINUTES = 30;

/** `cs_test_`/`cs_live_` and 32 random bytes: the page's capability, as unguessable as a secret key. */
export function newSessionId(livemode: boolean): string {
  return `cs_${livemode ? 'live' : 'test'}_${randomBytes(32).toString('base64url')}`;
}

const merchantActor = (m: AuthenticatedMerchant) => ({ type: 'merchant' as const, id: m.id });

function checkedUrl(name: string, value: string, origins: readonly string[]): string {
  if (!returnUrlAllowed(value, origins)) {
    throw new DomainError('return_url_not_allowed', `${name} must be an https URL on one of this merchant's return origins (${origins.join(', ')})`);
  }
  return value;
}

export async function createSession(
  ctx: GatewayContext,
  merchant: AuthenticatedMerchant,
  origin: RequestOrigin,
  body: CreateSessionBody,
  finish?: FinishIdempotent,
) {
  const returnUrl = checkedUrl('returnUrl', body.returnUrl, merchant.returnOrigins);
  const cancelUrl = body.cancelUrl === undefined ? null : checkedUrl('cancelUrl', body.cancelUrl, merchant.returnOrigins);
  // A session no customer could pay is refused now, not at the customer's first attempt.
  const provider = await validatePaymentTarget(ctx.db, { providerId: merchant.providerId, amount: { value: body.amount, currency: body.currency }, params: body.params });
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (trx) => {
    const session = await insertSession(trx, {
      id: newSessionId(merchant.livemode), merchant_id: merchant.id, livemode: merchant.livemode, provider_id: provider.id,
      amount: body.amount, currency: body.currency, params: body.params, return_url: returnUrl, cancel_url: cancelUrl,
      reference: body.reference ?? null, created_at: now,
      expires_at: new Date(now.getTime() + (body.expiresInMinutes ?? SESSION_DEFAULT_MINUTES) * 60_000),
    });
    await recordAudit(trx, ctx.clock, origin, {
      actor: merchantActor(merchant), action: 'checkout_session.created', outcome: 'success',
      targets: { merchantId: merchant.id, merchantKeyId: merchant.keyId, checkoutSessionId: session.id },
      details: { amount: session.amount, currency: session.currency, livemode: session.livemode, expiresAt: session.expires_at.toISOString() },
    });
    const view = sessionView(session, ctx.config.publicUrl);
    await finish?.(trx, 201, view);
    return view;
  });
}

/**
 * Expires sessions, each with its audit event and checkout.session.expired, in one transaction.
 * `actor` is the merchant ending one early, or the system when its time has passed.
 */
async function expire(
  ctx: GatewayContext,
  now: Date,
  which: Parameters<typeof expireSessions>[2],
  actor: { type: 'merchant' | 'system'; id?: string },
  origin: RequestOrigin | undefined,
): Promise<SessionRow[]> {
  return ctx.db.transaction().execute(async (trx) => {
    const expired = await expireSessions(trx, now, which);
    const audit = new AuditBatch(ctx.clock, origin);
    for (const s of expired) {
      audit.add({ actor, action: 'checkout_session.expired', outcome: 'success', targets: { merchantId: s.merchant_id, checkoutSessionId: s.id } });
      await recordMerchantEvent(trx, { merchantId: s.merchant_id, livemode: s.livemode, type: 'checkout.session.expired', data: sessionView(s, ctx.config.publicUrl) }, now);
    }
    await audit.flush(trx);
    return expired;
  });
}

/** The sweep: sessions past their time with no payment that may still succeed. */
export async function expireDueSessions(ctx: GatewayContext, now: Date, limit = 500): Promise<number> {
  return (await expire(ctx, now, { limit }, { type: 'system' }, undefined)).length;
}

/** Expires a session read past its time, so no read shows a stale `open`. */
async function current<S extends SessionRow>(ctx: GatewayContext, s: S, reread: () => Promise<S | undefined>): Promise<S> {
  if (s.status !== 'open' || s.expires_at.getTime() > ctx.clock.now().getTime()) return s;
  const expired = await expire(ctx, ctx.clock.now(), { id: s.id, merchantId: s.merchant_id, dueOnly: true }, { type: 'system' }, undefined);
  return expired.length ? (await reread()) ?? s : s;
}

export async function getSession(ctx: GatewayContext, merchant: AuthenticatedMerchant, id: string) {
  const find = () => findMerchantSession(ctx.db, id, merchant.id, merchant.livemode);
  const found = await find();
  if (!found) throw new DomainError('not_found', 'no such checkout session');
  return sessionView(await current(ctx, found, find), ctx.config.publicUrl);
}

/** The merchant ends an open session early; an expired one is answered as it is. */
export async function expireSession(ctx: GatewayContext, merchant: AuthenticatedMerchant, origin: RequestOrigin, id: string) {
  const found = await findMerchantSession(ctx.db, id, merchant.id, merchant.livemode);
  if (!found) throw new DomainError('not_found', 'no such checkout session');
  await expire(ctx, ctx.clock.now(), { id, merchantId: merchant.id, dueOnly: false }, merchantActor(merchant), origin);
  const now = (await findMerchantSession(ctx.db, id, merchant.id, merchant.livemode))!;
  if (now.status === 'complete') throw new DomainError('checkout_session_used', 'this checkout session is paid: it can no longer expire');
  if (now.status === 'open') throw new DomainError('checkout_session_used', 'a payment of this checkout session is in progress; it can expire once that payment ends');
  return sessionView(now, ctx.config.publicUrl);
}

/** What the hosted page shows: no key, so nothing but the merchant's name, the amount and where to go back. */
export async function publicSession(ctx: GatewayContext, id: string) {
  const find = () => findSession(ctx.db, id);
  const found = await find();
  if (!found) throw new DomainError('not_found', 'no such checkout session');
  const s = await current(ctx, found, find);
  return {
    id: s.id, merchant: { name: s.merchant_name }, amount: { value: s.amount, currency: s.currency }, status: s.status,
    returnUrl: s.return_url, cancelUrl: s.cancel_url, expiresAt: s.expires_at.toISOString(),
  };
}

/**
 * The customer pays the session: a payment of the session's amount to the merchant's provider
 * with the customer's card, claimed for the session in the payment's own transaction.
 */
export async function paySession(
  ctx: GatewayContext,
  origin: RequestOrigin,
  payer: Payer,
  id: string,
  card: Static<typeof CardChoice>,
): Promise<PaymentView> {
  const found = await findSession(ctx.db, id);
  if (!found) throw new DomainError('not_found', 'no such checkout session');
  const session = await current(ctx, found, () => findSession(ctx.db, id));
  if (session.status === 'expired') throw new DomainError('checkout_session_expired', 'this checkout session has expired; return to the merchant to start again');
  if (session.status === 'complete') throw new DomainError('checkout_session_used', 'this checkout session is already paid');
  try {
    return await createPayment(ctx, origin, payer, {
      providerId: session.provider_id, amount: { value: session.amount, currency: session.currency }, params: session.params, card,
    }, {
      checkout: { merchantId: session.merchant_id, merchantName: session.merchant_name, checkoutSessionId: session.id },
      inTransaction: async (trx, payment) => {
        if (!(await claimSessionForPayment(trx, session.id, payment.id, ctx.clock.now()))) {
          throw new DomainError('checkout_session_used', 'this checkout session has a payment in progress or is no longer open');
        }
      },
    });
  } catch (err) {
    // The payment's own events were rolled back with it: the refusal is this request's record.
    if (err instanceof DomainError && err.code === 'checkout_session_used') {
      await recordAudit(ctx.db, ctx.clock, origin, {
        actor: { type: 'client', id: payer.id }, action: 'checkout_session.pay', outcome: 'refused',
        targets: { clientId: payer.id, merchantId: session.merchant_id, checkoutSessionId: session.id }, details: { reason: err.code },
      });
    }
    throw err;
  }
}
