// Payment calls of the public listener (design.md): create (with Idempotency-Key), confirm with
// the code, read one, list. Thin: the rules live in payments.service.ts / payments.confirm.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { requestDigest } from './idempotency.js';
import { idempotently, isReplayed, sendReplay } from './idempotent-request.js';
import { confirmPayment, currentPayment } from './payments.confirm.js';
import { listClientPayments } from './payments.repository.js';
import {
  ConfirmBody, CreatePaymentBody, IdempotencyHeaders, ListQuery, PaymentList, PaymentParams, PaymentView,
} from './payments.schema.js';
import { cardIdentities, createPayment, preparePayment } from './payments.service.js';
import { toView } from './payments.view.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem, 503: Problem };

const paymentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/payments', {
    config: { audit: { action: 'payment.create' } },
    schema: {
      ...operation({
        id: 'createPayment', summary: 'Start a payment; sends an SMS code naming amount, payee and card', tags: ['Payments'], auth: 'sessionToken',
        description: 'A new card (`number`, `expMonth`, `expYear`, `cvv`) or a saved one (`cardId`, no CVV). The same `Idempotency-Key` with the same request replays the first answer (header `idempotent-replayed: true`); with another request it answers 409 `idempotency_conflict`.',
        errors: ['provider_unknown', 'provider_params_invalid', 'amount_out_of_range', 'currency_not_supported', 'card_invalid', 'card_expired', 'card_not_kz', 'card_limit_reached', 'card_blocked', 'not_found', 'idempotency_conflict', 'vault_unavailable', 'service_unavailable'],
      }),
      body: CreatePaymentBody, headers: IdempotencyHeaders, response: { 201: PaymentView, ...errors },
    },
  }, async (request, reply) => {
    const { ctx } = app;
    const origin = originOf(request);
    const payer = { id: request.client.id, phone: request.client.phone, language: request.client.language };
    const key = request.headers['idempotency-key'];
    if (key === undefined) return reply.code(201).send(await createPayment(ctx, origin, payer, request.body));

    // The card is checked (and an entered one tokenized) before the key is claimed: the vault's
    // fingerprint is what tells a changed card from the same one in the digest. A refusal decided
    // here (unknown provider, bad or foreign card) is not stored, as Stripe stores none for a
    // request that failed validation: a retry is answered afresh, the same way. A replayed
    // entered-card request is tokenized again, and that token is never used.
    const prepared = await preparePayment(ctx, origin, payer, request.body);
    const { identity, alternates } = cardIdentities(prepared);
    const hash = requestDigest(request.body, identity);
    const others = alternates.map((other) => requestDigest(request.body, other));
    const answer = await idempotently(ctx, { owner: { clientId: payer.id }, key, hash, alternates: others }, (finish) =>
      createPayment(ctx, origin, payer, request.body, { prepared, inTransaction: (trx, created) => finish(trx, 201, created) }));
    if (isReplayed(answer)) return sendReplay<PaymentView>(reply, answer);
    return reply.code(201).send(answer);
  });

  app.post('/v1/payments/:id/confirm', {
    config: { audit: { action: 'payment.confirm', idTarget: 'paymentId' } },
    schema: {
      ...operation({
        id: 'confirmPayment', summary: 'Confirm a payment with its SMS code', tags: ['Payments'], auth: 'sessionToken',
        description: 'Answers the payment: `succeeded`, `declined`, or `requires_action` with `nextAction.url` for 3-D Secure. A saved card with no approved payment yet answers 422 `cvv_required`: send `{code, cvv}` again.',
        errors: ['otp_invalid', 'otp_expired', 'otp_attempts_exceeded', 'not_found', 'payment_expired', 'card_blocked', 'card_removed', 'card_invalid', 'cvv_required', 'vault_unavailable'],
      }),
      params: PaymentParams, body: ConfirmBody, response: { 200: PaymentView, ...errors },
    },
  }, async (request) => confirmPayment(app.ctx, originOf(request), { id: request.client.id, phone: request.client.phone }, {
    paymentId: request.params.id,
    code: request.body.code,
    ...(request.body.cvv !== undefined ? { cvv: request.body.cvv } : {}),
  }));

  app.get('/v1/payments/:id', {
    config: { audit: { action: 'payment.read', idTarget: 'paymentId' } },
    schema: {
      ...operation({ id: 'getPayment', summary: 'One of the client\'s payments', tags: ['Payments'], auth: 'sessionToken', errors: ['not_found'] }),
      params: PaymentParams, response: { 200: PaymentView, ...errors },
    },
  }, async (request) => {
    const row = await currentPayment(app.ctx, request.params.id, request.client.id);
    if (!row) throw new DomainError('not_found', 'no such payment');
    return toView(row);
  });

  app.get('/v1/payments', {
    config: { audit: { action: 'payments.listed' } },
    schema: {
      ...operation({ id: 'listPayments', summary: 'The client\'s payments, newest first (pass `nextBefore` as `before` for the next page)', tags: ['Payments'], auth: 'sessionToken' }),
      querystring: ListQuery, response: { 200: PaymentList, ...errors },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 20;
    const rows = await listClientPayments(app.ctx.db, request.client.id, limit, request.query.before);
    const now = app.ctx.clock.now().getTime();
    // Open payments past their window read as expired; the sweeper or the next touch records it.
    const data = rows.map((r) => toView((r.status === 'requires_confirmation' || r.status === 'requires_action') && r.expires_at.getTime() <= now
      ? { ...r, status: 'expired' } : r));
    return { data, nextBefore: rows.length === limit ? rows[rows.length - 1]!.id : null };
  });
};

export default paymentsRoutes;
