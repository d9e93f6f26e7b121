// SP-13: bank staff block and unblock a client (admin listener only, mutual TLS). A block takes
// effect on the client's very next request (authenticate checks it with the session) and also
// revokes every live session. The staff certificate's identity is the audited actor.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { recordAudit, originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { setBlock } from '../identity/clients.repository.js';
import { revokeClientSessions } from '../identity/sessions.repository.js';
import { Uuid } from '../identity/identity.schema.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';

const Params = Type.Object({ clientId: Uuid });
const Body = Type.Object({ reason: Type.String({ minLength: 3, maxLength: 500 }) }, { additionalProperties: false });
const BlockState = Type.Object({ clientId: Type.String(), blocked: Type.Boolean() });
const errors = { '4xx': Problem, '5xx': Problem };

const clientsAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  for (const blocked of [true, false]) {
    app.post(`/v1/clients/:clientId/${blocked ? 'block' : 'unblock'}`, {
      config: { audit: { action: blocked ? 'client.blocked' : 'client.unblocked', idTarget: 'clientId' } },
      schema: { params: Params, body: Body, response: { 200: BlockState, ...errors } },
    }, async (request) => {
      const { ctx } = app;
      const { clientId } = request.params;
      const reason = request.body.reason.trim();
      await ctx.db.transaction().execute(async (trx) => {
        const now = ctx.clock.now();
        if (!(await setBlock(trx, clientId, blocked ? { at: now, reason, by: request.staffIdentity } : null))) {
          throw new DomainError('not_found', 'no such client');
        }
        const revoked = blocked ? await revokeClientSessions(trx, clientId, now) : 0;
        await recordAudit(trx, ctx.clock, originOf(request), {
          actor: { type: 'staff', id: request.staffIdentity },
          action: blocked ? 'client.blocked' : 'client.unblocked',
          outcome: 'success',
          targets: { clientId },
          details: { reason, sessionsRevoked: revoked },
        });
      });
      return { clientId, blocked };
    });
  }
};

export default clientsAdminRoutes;
