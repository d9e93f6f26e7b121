// Staff work dispute cases on the admin listener (SP-19, SP-20): list, read, annotate, resolve.
// The actor of every change is the staff certificate's identity (request.staffIdentity).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { originOf } from '../audit/record.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';
import { Problem } from '../errors.js';
import { listDisputes } from '../payments/disputes.repository.js';
import { CaseFile, DisputeView, NoteView } from '../payments/disputes.schema.js';
import { annotateCase, caseFile, disputeView, resolveCase } from '../payments/disputes.service.js';
import { Uuid } from '../payments/payments.schema.js';

const Params = Type.Object({ id: Uuid });
const errors = { 400: Problem, 403: Problem, 404: Problem, 409: Problem };

const adminDisputesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  app.get('/v1/disputes', {
    config: { audit: { action: 'disputes.listed' } },
    schema: {
      querystring: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      }),
      response: { 200: Type.Object({ data: Type.Array(DisputeView) }), ...errors },
    },
  }, async (request) => ({
    data: (await listDisputes(app.ctx.db, request.query.status, request.query.limit ?? 100)).map(disputeView),
  }));

  app.get('/v1/disputes/:id', {
    config: { audit: { action: 'dispute.case_read', idTarget: 'disputeId' } },
    schema: { params: Params, response: { 200: CaseFile, ...errors } },
  }, async (request) => caseFile(app.ctx, request.params.id));

  app.post('/v1/disputes/:id/notes', {
    config: { audit: { action: 'dispute.note_added', idTarget: 'disputeId' } },
    schema: {
      params: Params,
      body: Type.Object({ text: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }),
      response: { 201: NoteView, ...errors },
    },
  }, async (request, reply) => reply.code(201).send(await annotateCase(app.ctx, originOf(request), request.staffIdentity, request.params.id, request.body.text)));

  app.post('/v1/disputes/:id/resolve', {
    config: { audit: { action: 'dispute.resolved', idTarget: 'disputeId' } },
    schema: {
      params: Params,
      body: Type.Object({
        outcome: Type.Union([Type.Literal('upheld'), Type.Literal('rejected')]),
        note: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
      }, { additionalProperties: false }),
      response: { 200: CaseFile, ...errors },
    },
  }, async (request) => resolveCase(app.ctx, originOf(request), request.staffIdentity, request.params.id, request.body.outcome, request.body.note));
};

export default adminDisputesRoutes;
