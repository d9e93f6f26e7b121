// POST /v1/disputes (SP-18 … SP-20): a client reports one of their payments.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { openDispute } from './disputes.service.js';
import { OpenDisputeBody, OpenedDispute } from './disputes.schema.js';

const disputesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/disputes', {
    config: { audit: { action: 'dispute.opened' } },
    schema: {
      ...operation({ id: 'openDispute', summary: 'Report one of the client\'s payments', tags: ['Disputes'], auth: 'sessionToken',
        errors: ['not_found', 'dispute_exists', 'conflict', 'dispute_not_allowed', 'refund_not_allowed', 'vault_unavailable'] }),
      body: OpenDisputeBody,
      response: { 201: OpenedDispute, 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem },
    },
  }, async (request, reply) => {
    const dispute = await openDispute(app.ctx, originOf(request), request.log, { id: request.client.id, phone: request.client.phone }, request.body);
    return reply.code(201).send(dispute);
  });
};

export default disputesRoutes;
