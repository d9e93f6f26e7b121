// SP-20, SP-21: investigators take a client's or a payment's audit trail for a time range, as
// signed JSON Lines with chain proofs (lib/audit/export.ts), and verify it offline with
// `npm run audit:verify -- --export FILE`. Admin listener only. The gateway has no privilege on
// schema `audit`: the audit-worker builds and signs the export on its private mutual-TLS listener
// (lib/audit-client.ts) and the gateway streams it on. The export request is itself audited.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ExportRangeQuery, ExportUuid, parseExportRange, type ExportSubject } from '../../../lib/audit/export.js';
import { AuditUnavailable } from '../../../lib/audit-client.js';
import { recordAudit, originOf } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import { DomainError, Problem } from '../errors.js';

const errors = { '4xx': Problem, '5xx': Problem };
// JSON Lines passed through from the worker as a stream (Fastify sends a stream unserialized).
const Ndjson = Type.Unsafe<Readable>({ type: 'string' });

async function auditExport(ctx: GatewayContext, request: FastifyRequest, subject: ExportSubject,
  range: { from: Date; to: Date }, outcome: 'success' | 'failure', reason?: string): Promise<void> {
  await ctx.db.transaction().execute((trx) => recordAudit(trx, ctx.clock, originOf(request), {
    actor: { type: 'staff', id: request.staffIdentity },
    action: 'audit.exported',
    outcome,
    targets: 'clientId' in subject ? { clientId: subject.clientId } : { paymentId: subject.paymentId },
    details: { from: range.from.toISOString(), to: range.to.toISOString(), ...(reason ? { reason } : {}) },
  }));
}

const auditExportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const routes = [
    { url: '/v1/clients/:id/audit', subject: (id: string): ExportSubject => ({ clientId: id }), idTarget: 'clientId' as const },
    { url: '/v1/payments/:id/audit', subject: (id: string): ExportSubject => ({ paymentId: id }), idTarget: 'paymentId' as const },
  ];
  for (const route of routes) {
    app.get(route.url, {
      config: { audit: { action: 'audit.exported', idTarget: route.idTarget } },
      schema: { params: Type.Object({ id: ExportUuid }), querystring: ExportRangeQuery, response: { 200: Ndjson, ...errors } },
    }, async (request, reply) => {
      const { ctx } = app;
      const range = parseExportRange(request.query);
      if (typeof range === 'string') throw new DomainError('validation_failed', range);
      const subject = route.subject(request.params.id);
      let answer;
      try {
        answer = await ctx.audit.exportTrail(subject, range.from, range.to);
      } catch (err) {
        if (!(err instanceof AuditUnavailable)) throw err;
        request.log.warn({ err: { message: err.message } }, 'audit export: the audit-worker cannot be reached');
        await auditExport(ctx, request, subject, range, 'failure', 'audit_unavailable');
        throw new DomainError('service_unavailable', 'the audit store cannot be reached; try again later', { 'retry-after': '30' });
      }
      if (answer.status !== 200 || !('body' in answer)) {
        // The gateway checked what the worker checks: a 4xx here is a mismatch between the two.
        request.log.error({ status: answer.status, code: 'problem' in answer ? answer.problem.code : undefined }, 'audit export refused by the audit-worker');
        await auditExport(ctx, request, subject, range, 'failure', 'refused_by_worker');
        throw new DomainError('service_unavailable', 'the audit store refused the export');
      }
      try {
        await auditExport(ctx, request, subject, range, 'success');
      } catch (err) {
        answer.body.destroy();
        throw err;
      }
      return reply.type('application/x-ndjson; charset=utf-8').send(answer.body);
    });
  }
};

export default auditExportRoutes;
