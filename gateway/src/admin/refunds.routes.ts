// Staff refunds on the admin listener (SP-18 … SP-20): POST /v1/payments/{id}/refunds with an
// amount (partial) or without one (whatever is left). Never more than was paid, however many
// refunds race: the amount is reserved under the payment's row lock. When the vault cannot be
// reached the answer is still 201, with the refund pending: the payments sweep completes it.
// GET /v1/refunds?status=pending shows staff what is still on its way back and how many times
// the sweep has retried it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { originOf } from '../audit/record.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';
import { DomainError, Problem } from '../errors.js';
import { lockPayment } from '../payments/payments.repository.js';
import { Money, Uuid } from '../payments/payments.schema.js';
import { RefundView } from '../payments/disputes.schema.js';
import { executeRefund, reserveRefund } from '../payments/refunds.service.js';
import { listRefundsByStatus } from '../payments/refunds.repository.js';

const Timestamp = Type.String({ format: 'date-time' });

const StaffRefundView = Type.Object({
  id: Type.String(),
  paymentId: Type.String(),
  disputeId: Type.Union([Type.String(), Type.Null()]),
  amount: Money,
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  requestedBy: Type.String(),
  createdAt: Timestamp,
  completedAt: Type.Union([Timestamp, Type.Null()]),
  retries: Type.Integer({ minimum: 0 }),
  lastRetriedAt: Type.Union([Timestamp, Type.Null()]),
});

const adminRefundsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  app.get('/v1/refunds', {
    config: { audit: { action: 'refunds.listed' } },
    schema: {
      querystring: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      }),
      response: { 200: Type.Object({ data: Type.Array(StaffRefundView) }), 400: Problem, 403: Problem },
    },
  }, async (request) => ({
    data: (await listRefundsByStatus(app.ctx.db, request.query.status, request.query.limit ?? 100)).map((r) => ({
      id: r.id,
      paymentId: r.payment_id,
      disputeId: r.dispute_id,
      amount: { value: r.amount, currency: r.currency },
      status: r.status,
      requestedBy: r.requested_by,
      createdAt: r.created_at.toISOString(),
      completedAt: r.completed_at?.toISOString() ?? null,
      retries: r.retries,
      lastRetriedAt: r.retried_at?.toISOString() ?? null,
    })),
  }));

  app.post('/v1/payments/:id/refunds', {
    config: { audit: { action: 'refund.requested', idTarget: 'paymentId' } },
    schema: {
      params: Type.Object({ id: Uuid }),
      body: Type.Object({ amount: Type.Optional(Money) }, { additionalProperties: false }),
      response: { 201: RefundView, 400: Problem, 403: Problem, 404: Problem, 422: Problem },
    },
  }, async (request, reply) => {
    const { ctx } = app;
    const actor = { type: 'staff' as const, id: request.staffIdentity };
    const reserved = await ctx.db.transaction().execute(async (trx) => {
      const p = await lockPayment(trx, request.params.id);
      if (!p) throw new DomainError('not_found', 'no such payment');
      const amount = request.body.amount;
      if (amount && amount.currency !== p.currency) throw new DomainError('currency_not_supported', `this payment was made in ${p.currency}`);
      return reserveRefund(trx, ctx, originOf(request), p, { ...(amount ? { amount: amount.value } : {}), disputeId: null, actor });
    });
    const refund = await executeRefund(ctx, reserved, { actor, origin: originOf(request), log: request.log });
    return reply.code(201).send(refund);
  });
};

export default adminRefundsRoutes;
