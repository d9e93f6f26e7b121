// Request and response shapes of the webhook routes (design.md, "Merchant API and hosted checkout").
import { Type, type Static } from '@sinclair/typebox';
import { MERCHANT_EVENT_TYPES, type MerchantEventType } from '../merchants/merchant-events.js';
import { Uuid } from '../payments/payments.schema.js';

// Spelt out so the route types see the literals; the check below keeps it equal to MERCHANT_EVENT_TYPES.
export const EventType = Type.Union([
  Type.Literal('checkout.session.completed'), Type.Literal('checkout.session.expired'), Type.Literal('payment.succeeded'), Type.Literal('payment.failed'),
  Type.Literal('refund.succeeded'), Type.Literal('refund.failed'), Type.Literal('dispute.opened'), Type.Literal('dispute.closed'),
], { title: 'WebhookEventType' });
const sameTypes: [Static<typeof EventType>] extends [MerchantEventType] ? ([MerchantEventType] extends [Static<typeof EventType>] ? true : never) : never = true;
void sameTypes;

export const CreateEndpointBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'https:// to a public address; test-mode keys may also use http:// on loopback' }),
  events: Type.Array(EventType, { minItems: 1, maxItems: MERCHANT_EVENT_TYPES.length, uniqueItems: true }),
}, { additionalProperties: false });
export type CreateEndpointBody = Static<typeof CreateEndpointBody>;

export const EndpointParams = Type.Object({ id: Uuid });

export const WebhookEndpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventType),
  createdAt: Type.String({ format: 'date-time' }),
}, { title: 'WebhookEndpoint' });

export const WebhookEndpointWithSecret = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventType),
  createdAt: Type.String({ format: 'date-time' }),
  secret: Type.String({ description: 'Standard Webhooks signing secret (`whsec_…`): shown only in this answer' }),
}, { title: 'WebhookEndpointWithSecret' });

export const WebhookEndpointList = Type.Object({ data: Type.Array(WebhookEndpoint) }, { title: 'WebhookEndpointList' });

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);

export const WebhookDelivery = Type.Object({
  id: Type.String(),
  endpointId: Type.String(),
  eventId: Type.String(),
  eventType: EventType,
  status: DeliveryStatus,
  attempts: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  completedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
}, { title: 'WebhookDelivery' });

export const WebhookDeliveryList = Type.Object({ data: Type.Array(WebhookDelivery) }, { title: 'WebhookDeliveryList' });

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(DeliveryStatus),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
}, { additionalProperties: false });
