// The client's saved cards, masked (SP-14.2, SP-16): GET /v1/cards, DELETE /v1/cards/{id}.
// A removed card's data is deleted in the vault (card-purge.ts); its past payments stay readable.
// Another client's card id answers 404, exactly like an id that does not exist.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { recordAudit, originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { listClientCards, removeClientCard } from './cards.repository.js';
import { purgeToken } from './card-purge.js';
import { Uuid } from './payments.schema.js';

const CardView = Type.Object({
  id: Type.String(),
  brand: Type.String(),
  bin6: Type.String(),
  last4: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('blocked')]),
  createdAt: Type.String(),
}, { title: 'Card' });

const cardsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/cards', {
    config: { audit: { action: 'cards.listed' } },
    schema: {
      ...operation({ id: 'listCards', summary: 'The client\'s saved cards, masked', tags: ['Cards'], auth: 'sessionToken' }),
      response: { 200: Type.Object({ data: Type.Array(CardView) }), 401: Problem, 403: Problem },
    },
  }, async (request) => {
    const rows = await listClientCards(app.ctx.db, request.client.id);
    return {
      data: rows.map((c) => ({
        id: c.id, brand: c.brand, bin6: c.bin6, last4: c.last4, expMonth: c.exp_month, expYear: c.exp_year,
        status: c.status === 'blocked' ? 'blocked' as const : 'active' as const, createdAt: c.created_at.toISOString(),
      })),
    };
  });

  app.delete('/v1/cards/:id', {
    config: { audit: { action: 'card.removed', idTarget: 'cardId' } },
    schema: {
      ...operation({ id: 'removeCard', summary: 'Remove a saved card (its data is deleted in the vault)', tags: ['Cards'], auth: 'sessionToken', errors: ['not_found'] }),
      params: Type.Object({ id: Uuid }), response: { 204: Type.Null(), 401: Problem, 403: Problem, 404: Problem },
    },
  }, async (request, reply) => {
    const { ctx } = app;
    const clientId = request.client.id;
    const removed = await ctx.db.transaction().execute(async (trx) => {
      const row = await removeClientCard(trx, clientId, request.params.id, ctx.clock.now());
      if (row) {
        await recordAudit(trx, ctx.clock, originOf(request), {
          actor: { type: 'client', id: clientId }, action: 'card.removed', outcome: 'success',
          targets: { clientId, cardId: row.id }, details: { last4: row.last4 },
        });
      }
      return row;
    });
    if (!removed) throw new DomainError('not_found', 'no such saved card');
    // After the commit, outside any transaction (SP-16): if the vault does not answer, the removal
    // stands and the payments sweep asks the vault again.
    await purgeToken(ctx, { token: removed.token, clientId, cardId: removed.id }, request.log);
    return reply.code(204).send(null);
  });
};

export default cardsRoutes;
