// SP-20, SP-21: investigators take a client's or a payment's audit trail for a time range, as
// JSON Lines with chain proofs (lib/audit/export.ts), and verify it offline with
// `npm run audit:verify -- --export FILE`. Admin listener only; the export is itself audited.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { buildAuditExport, type ExportSubject } from '../../../lib/audit/export.js';
import { recordAudit } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';

const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const Instant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})$' });
const Range = Type.Object({ from: Instant, to: Instant });
const errors = { '4xx': Problem, '5xx': Problem };
const MAX_RANGE_MS = 366 * 24 * 3600 * 1000;

function range(query: { from: string; to: string }): { from: Date; to: Date } {
  const from = new Date(query.from);
  const to = new Date(query.to);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) {
    throw new DomainError('validation_failed', '`from` and `to` must be instants with from < to');
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new DomainError('validation_failed', 'a range spans at most 366 days');
  return { from, to };
}

const auditExportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const routes = [
    { url: '/v1/clients/:id/audit', subject: (id: string): ExportSubject => ({ clientId: id }) },
    { url: '/v1/payments/:id/audit', subject: (id: string): ExportSubject => ({ paymentId: id }) },
  ];
  for (const route of routes) {
    app.get(route.url, {
      schema: { params: Type.Object({ id: Uuid }), querystring: Range, response: { 200: Type.String(), ...errors } },
    }, async (request, reply) => {
      const { ctx } = app;
      const { from, to } = range(request.query);
      const subject = route.subject(request.params.id);
      const body = await buildAuditExport(ctx.db as unknown as Kysely<any>, subject, from, to, ctx.clock.now());
      await ctx.db.transaction().execute((trx) => recordAudit(trx, ctx.clock, request, {
        actor: { type: 'staff', id: request.staffIdentity },
        action: 'audit.exported',
        outcome: 'success',
        targets: 'clientId' in subject ? { clientId: subject.clientId } : { paymentId: subject.paymentId },
        details: { from: from.toISOString(), to: to.toISOString() },
      }));
      return reply.type('application/x-ndjson; charset=utf-8').send(body);
    });
  }
};

export default auditExportRoutes;
