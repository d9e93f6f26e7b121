// The merchant API of hosted checkout (design.md, "Merchant API and hosted checkout"): sessions,
// the merchant's payments and refunds, behind the merchant's secret key. Thin: the rules live in
// sessions.service.ts and merchant-refunds.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { bodyDigest } from '../payments/idempotency.js';
import { idempotently, isReplayed, sendReplay } from '../payments/idempotent-request.js';
import { IdempotencyHeaders } from '../payments/payments.schema.js';
import { PaymentView } from '../payments/payments.schema.js';
import {
  CheckoutSession, CreateSessionBody, MerchantPayment, MerchantPaymentList, MerchantPaymentsQuery, MerchantRefund, MerchantRefundBody,
  PaySessionBody, PaymentIdParams, PublicCheckoutSession, SessionParams,
} from './checkout.schema.js';
import { merchantPaymentView } from './checkout.view.js';
import { findMerchantPayment, listMerchantPayments } from './merchant-payments.repository.js';
import { refundMerchantPayment, type MerchantRefundView } from './merchant-refunds.service.js';
import { createSession, expireSession, getSession, paySession, publicSession } from './sessions.service.js';

const errors = { 400: Problem, 401: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem, 503: Problem };

/** Behind app.authenticateMerchant. */
export const merchantCheckoutRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/checkout/sessions', {
    config: { audit: { action: 'checkout_session.create' } },
    schema: {
      ...operation({
        id: 'createCheckoutSession', summary: 'A hosted checkout for one fixed amount to this merchant', tags: ['Checkout'], auth: 'merchantKey',
        description: 'Send the customer to `url`. The amount, currency and payee are fixed here: the customer brings only the card. `returnUrl` and `cancelUrl` must be https URLs on one of the merchant\'s return origins. The same `Idempotency-Key` with the same request replays the first answer (header `idempotent-replayed: true`).',
        errors: ['return_url_not_allowed', 'provider_unknown', 'provider_params_invalid', 'amount_out_of_range', 'currency_not_supported', 'idempotency_conflict'],
      }),
      body: CreateSessionBody, headers: IdempotencyHeaders, response: { 201: CheckoutSession, ...errors },
    },
  }, async (request, reply) => {
    const { ctx } = app;
    const merchant = request.merchant!;
    const origin = originOf(request);
    const key = request.headers['idempotency-key'];
    if (key === undefined) return reply.code(201).send(await createSession(ctx, merchant, origin, request.body));
    const hash = bodyDigest({ mode: merchant.livemode, ...request.body });
    const answer = await idempotently(ctx, { owner: { merchantId: merchant.id }, key, hash }, (finish) =>
      createSession(ctx, merchant, origin, request.body, finish));
    if (isReplayed(answer)) return sendReplay(reply, answer);
    return reply.code(201).send(answer);
  });

  app.get('/v1/checkout/sessions/:id', {
    config: { audit: { action: 'checkout_session.read', idTarget: 'checkoutSessionId' } },
    schema: {
      ...operation({ id: 'getCheckoutSession', summary: 'A checkout session and its state', tags: ['Checkout'], auth: 'merchantKey', errors: ['not_found'] }),
      params: SessionParams, response: { 200: CheckoutSession, ...errors },
    },
  }, async (request) => getSession(app.ctx, request.merchant!, request.params.id));

  app.post('/v1/checkout/sessions/:id/expire', {
    config: { audit: { action: 'checkout_session.expire', idTarget: 'checkoutSessionId' } },
    schema: {
      ...operation({
        id: 'expireCheckoutSession', summary: 'End an open checkout session early', tags: ['Checkout'], auth: 'merchantKey',
        description: 'A paid session, or one whose payment is in progress, answers 409 `checkout_session_used`; an expired one is answered as it is.',
        errors: ['not_found', 'checkout_session_used'],
      }),
      params: SessionParams, response: { 200: CheckoutSession, ...errors },
    },
  }, async (request) => expireSession(app.ctx, request.merchant!, originOf(request), request.params.id));

  app.get('/v1/merchant/payments', {
    config: { audit: { action: 'merchant_payments.listed' } },
    schema: {
      ...operation({ id: 'listMerchantPayments', summary: 'The merchant\'s payments in the key\'s mode, newest first (pass `nextCursor` as `startingAfter`)', tags: ['Merchant'], auth: 'merchantKey' }),
      querystring: MerchantPaymentsQuery, response: { 200: MerchantPaymentList, ...errors },
    },
  }, async (request) => {
    const m = request.merchant!;
    const limit = request.query.limit ?? 20;
    // One more than asked tells whether another page exists without a second query.
    const rows = await listMerchantPayments(app.ctx.db, {
      merchantId: m.id, livemode: m.livemode, limit: limit + 1, ...(request.query.startingAfter ? { startingAfter: request.query.startingAfter } : {}),
    });
    const page = rows.slice(0, limit);
    const now = app.ctx.clock.now();
    const hasMore = rows.length > limit;
    return { data: page.map((p) => merchantPaymentView(p, now)), hasMore, nextCursor: hasMore ? page[page.length - 1]!.id : null };
  });

  app.get('/v1/merchant/payments/:id', {
    config: { audit: { action: 'merchant_payment.read', idTarget: 'paymentId' } },
    schema: {
      ...operation({ id: 'getMerchantPayment', summary: 'One of the merchant\'s payments', tags: ['Merchant'], auth: 'merchantKey', errors: ['not_found'] }),
      params: PaymentIdParams, response: { 200: MerchantPayment, ...errors },
    },
  }, async (request) => {
    const m = request.merchant!;
    const p = await findMerchantPayment(app.ctx.db, request.params.id, m.id, m.livemode);
    if (!p) throw new DomainError('not_found', 'no such payment');
    return merchantPaymentView(p, app.ctx.clock.now());
  });

  app.post('/v1/merchant/refunds', {
    config: { audit: { action: 'merchant_refund.request' } },
    schema: {
      ...operation({
        id: 'createMerchantRefund', summary: 'Refund one of the merchant\'s payments, fully or partly', tags: ['Merchant'], auth: 'merchantKey',
        description: 'Never more than captured minus refunded, however many refunds race. `amount` left out refunds all that is left. When the card vault cannot be reached the refund is answered `pending`, its amount reserved, and completed by the gateway later.',
        errors: ['not_found', 'refund_not_allowed', 'idempotency_conflict'],
      }),
      body: MerchantRefundBody, headers: IdempotencyHeaders, response: { 201: MerchantRefund, ...errors },
    },
  }, async (request, reply) => {
    const { ctx } = app;
    const merchant = request.merchant!;
    const origin = originOf(request);
    const key = request.headers['idempotency-key'];
    const refund = (finish?: Parameters<typeof refundMerchantPayment>[5]) => refundMerchantPayment(ctx, merchant, origin, request.log, request.body, finish);
    if (key === undefined) return reply.code(201).send(await refund());
    const answer = await idempotently(ctx, { owner: { merchantId: merchant.id }, key, hash: bodyDigest({ mode: merchant.livemode, ...request.body }) }, refund);
    if (!isReplayed(answer)) return reply.code(201).send(answer);
    if (answer.status >= 400) return sendReplay(reply, answer);
    // The refund as it stands now, not as it stood when first answered.
    const first = answer.body as MerchantRefundView;
    const now = await ctx.db.selectFrom('gateway.refunds').select('status').where('id', '=', first.id).executeTakeFirst();
    return sendReplay(reply, answer, { ...first, status: now?.status ?? first.status });
  });
};

/** No key and no session: what the hosted page shows before the customer logs in. */
export const publicCheckoutRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/checkout/sessions/:id/public', {
    config: { audit: { action: 'checkout_session.public_read', idTarget: 'checkoutSessionId' } },
    schema: {
      ...operation({ id: 'getPublicCheckoutSession', summary: 'What the hosted checkout page shows: merchant, amount, status', tags: ['Checkout'], errors: ['not_found'] }),
      params: SessionParams, response: { 200: PublicCheckoutSession, 400: Problem, 404: Problem, 429: Problem },
    },
  }, async (request) => publicSession(app.ctx, request.params.id));
};

/** Behind app.authenticate: the customer pays. */
export const customerCheckoutRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/checkout/sessions/:id/pay', {
    config: { audit: { action: 'checkout_session.pay', idTarget: 'checkoutSessionId' } },
    schema: {
      ...operation({
        id: 'payCheckoutSession', summary: 'Pay a checkout session with a card; sends an SMS code naming amount, merchant and card', tags: ['Checkout'], auth: 'sessionToken',
        description: 'The body carries only the card: the amount and payee are the session\'s. Answers a payment in `requires_confirmation`, confirmed as any payment (`POST /v1/payments/{id}/confirm`, then 3-D Secure when asked).',
        errors: ['not_found', 'checkout_session_expired', 'checkout_session_used', 'card_invalid', 'card_expired', 'card_not_kz', 'card_limit_reached', 'card_blocked', 'vault_unavailable', 'service_unavailable'],
      }),
      params: SessionParams, body: PaySessionBody, response: { 201: PaymentView, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem, 503: Problem },
    },
  }, async (request, reply) => reply.code(201).send(await paySession(app.ctx, originOf(request),
    { id: request.client.id, phone: request.client.phone, language: request.client.language }, request.params.id, request.body.card)));
};
