// GET /v1/providers (SP-14): the catalog and each provider's payment parameters. Public data, but
// served to logged-in clients only, like every other payment call (SP-14: after login).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { providers } from './providers.service.js';

const ProviderView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  category: Type.String(),
  currency: Type.String(),
  minAmount: Type.Integer(),
  maxAmount: Type.Integer(),
  params: Type.Array(Type.Object({ name: Type.String(), label: Type.String(), pattern: Type.String(), example: Type.String() })),
}, { title: 'Provider' });

const providersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/providers', {
    config: { audit: { action: 'providers.listed' } },
    schema: {
      ...operation({ id: 'listProviders', summary: 'Service providers and the parameters a payment to each needs', tags: ['Payments'], auth: 'sessionToken' }),
      response: { 200: Type.Array(ProviderView), 401: Problem, 403: Problem },
    },
  }, async () => providers(app.ctx.db));
};

export default providersRoutes;
