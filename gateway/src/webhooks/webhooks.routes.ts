// The merchant's webhook routes (design.md, "Merchant API and hosted checkout"), behind its secret
// key. Thin: the rules live in endpoints.service.ts and deliveries.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { endpointExists, listDeliveries, redeliver } from './deliveries.service.js';
import { createEndpoint, disableEndpoint, listEndpoints, rotateSecret } from './endpoints.service.js';
import {
  CreateEndpointBody, DeliveriesQuery, EndpointParams, WebhookDeliveryList, WebhookEndpointList, WebhookEndpointWithSecret,
} from './webhooks.schema.js';

const errors = { 400: Problem, 401: Problem, 404: Problem, 409: Problem, 429: Problem };
const Redelivery = Type.Object({ id: Type.String(), status: Type.Literal('pending') }, { title: 'WebhookRedelivery' });
const tags = ['Webhooks'];

/** Behind app.authenticateMerchant. */
export const merchantWebhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/webhook-endpoints', {
    config: { audit: { action: 'webhook_endpoint.create' } },
    schema: {
      ...operation({
        id: 'createWebhookEndpoint', summary: 'Register a URL to receive the merchant\'s events, signed per Standard Webhooks', tags, auth: 'merchantKey',
        description: 'The answer carries the signing `secret` once; it is not shown again (rotate it to get a new one). Live keys need `https://` to a public address; test keys may also use `http://` on loopback. Addresses in private, loopback, link-local or metadata ranges are refused however the host is spelt.',
        errors: ['webhook_url_not_allowed'],
      }),
      body: CreateEndpointBody, response: { 201: WebhookEndpointWithSecret, ...errors },
    },
  }, async (request, reply) => reply.code(201).send(await createEndpoint(app.ctx, request.merchant!, originOf(request), request.body)));

  app.get('/v1/webhook-endpoints', {
    config: { audit: { action: 'webhook_endpoints.listed' } },
    schema: {
      ...operation({ id: 'listWebhookEndpoints', summary: 'The merchant\'s active webhook endpoints in the key\'s mode', tags, auth: 'merchantKey' }),
      response: { 200: WebhookEndpointList, ...errors },
    },
  }, async (request) => listEndpoints(app.ctx, request.merchant!));

  app.delete('/v1/webhook-endpoints/:id', {
    config: { audit: { action: 'webhook_endpoint.disable', idTarget: 'webhookEndpointId' } },
    schema: {
      ...operation({ id: 'deleteWebhookEndpoint', summary: 'Stop sending events to an endpoint (its deliveries stay listed)', tags, auth: 'merchantKey', errors: ['not_found'] }),
      params: EndpointParams, response: { 204: Type.Null(), ...errors },
    },
  }, async (request, reply) => {
    await disableEndpoint(app.ctx, request.merchant!, originOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/v1/webhook-endpoints/:id/rotate-secret', {
    config: { audit: { action: 'webhook_endpoint.rotate_secret', idTarget: 'webhookEndpointId' } },
    schema: {
      ...operation({
        id: 'rotateWebhookSecret', summary: 'A new signing secret for an endpoint, shown once', tags, auth: 'merchantKey',
        description: 'For 24 hours both the new and the previous secret sign every event (two signatures in `webhook-signature`), so a receiver can switch without losing events.',
        errors: ['not_found'],
      }),
      params: EndpointParams, response: { 200: WebhookEndpointWithSecret, ...errors },
    },
  }, async (request) => rotateSecret(app.ctx, request.merchant!, originOf(request), request.params.id));

  app.get('/v1/webhook-endpoints/:id/deliveries', {
    config: { audit: { action: 'webhook_deliveries.listed', idTarget: 'webhookEndpointId' } },
    schema: {
      ...operation({ id: 'listWebhookDeliveries', summary: 'What was sent to an endpoint, newest first, with the last attempt\'s outcome', tags, auth: 'merchantKey', errors: ['not_found'] }),
      params: EndpointParams, querystring: DeliveriesQuery, response: { 200: WebhookDeliveryList, ...errors },
    },
  }, async (request) => {
    const m = request.merchant!;
    const scope = { merchantId: m.id, livemode: m.livemode, endpointId: request.params.id };
    if (!(await endpointExists(app.ctx, scope))) throw new DomainError('not_found', 'no such webhook endpoint');
    return listDeliveries(app.ctx, scope, request.query);
  });

  app.post('/v1/webhook-deliveries/:id/redeliver', {
    config: { audit: { action: 'webhook_delivery.redeliver', idTarget: 'webhookDeliveryId' } },
    schema: {
      ...operation({
        id: 'redeliverWebhook', summary: 'Send one delivery again', tags, auth: 'merchantKey',
        description: 'The delivery goes back to `pending` and is retried with the usual back-off; a disabled endpoint\'s delivery answers 409 `conflict`.',
        errors: ['not_found', 'conflict'],
      }),
      params: EndpointParams, response: { 202: Redelivery, ...errors },
    },
  }, async (request, reply) => {
    const m = request.merchant!;
    return reply.code(202).send(await redeliver(app.ctx, { merchantId: m.id, livemode: m.livemode }, originOf(request), request.params.id, { type: 'merchant', id: m.id }));
  });
};
