// GET /v1/merchant: the merchant a secret key belongs to, so an integrator can check a key (and
// its mode) before anything else, as with a payment provider's account endpoint.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';

const MerchantSelf = Type.Object({
  id: Type.String(),
  name: Type.String(),
  providerId: Type.String(),
  returnOrigins: Type.Array(Type.String()),
  mode: Type.Union([Type.Literal('test'), Type.Literal('live')]),
}, { title: 'Merchant' });

const merchantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticateMerchant);
  app.get('/v1/merchant', {
    config: { audit: { action: 'merchant.read' } },
    schema: {
      ...operation({ id: 'getMerchant', summary: 'The merchant a secret key belongs to, and the key\'s mode', tags: ['Merchant'], auth: 'merchantKey' }),
      response: { 200: MerchantSelf, 401: Problem, 429: Problem },
    },
  }, async (request) => {
    const m = request.merchant!;
    return { id: m.id, name: m.name, providerId: m.providerId, returnOrigins: m.returnOrigins, mode: m.livemode ? 'live' as const : 'test' as const };
  });
};

export default merchantRoutes;
