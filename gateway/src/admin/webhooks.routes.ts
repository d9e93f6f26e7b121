// Staff see a merchant's webhook deliveries and redeliver one (design.md, staff table), e.g. when a
// merchant reports a missed event after fixing its endpoint.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import { Uuid } from '../identity/identity.schema.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';
import { listDeliveries, redeliver } from '../webhooks/deliveries.service.js';
import { DeliveryStatus, WebhookDeliveryList } from '../webhooks/webhooks.schema.js';

const errors = { '4xx': Problem, '5xx': Problem };

const adminWebhooksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);

  app.get('/v1/webhook-deliveries', {
    config: { audit: { action: 'webhook_deliveries.listed' } },
    schema: {
      querystring: Type.Object({
        merchantId: Uuid,
        status: Type.Optional(DeliveryStatus),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
      }, { additionalProperties: false }),
      response: { 200: WebhookDeliveryList, ...errors },
    },
  }, async (request) => {
    const { merchantId, ...filter } = request.query;
    return listDeliveries(app.ctx, { merchantId }, filter);
  });

  app.post('/v1/webhook-deliveries/:id/redeliver', {
    config: { audit: { action: 'webhook_delivery.redeliver', idTarget: 'webhookDeliveryId' } },
    schema: {
      params: Type.Object({ id: Uuid }),
      response: { 202: Type.Object({ id: Type.String(), status: Type.Literal('pending') }), ...errors },
    },
  }, async (request, reply) => reply.code(202).send(
    await redeliver(app.ctx, {}, originOf(request), request.params.id, { type: 'staff', id: request.staffIdentity })));
};

export default adminWebhooksRoutes;
