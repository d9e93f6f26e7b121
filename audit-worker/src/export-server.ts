// The worker's private export listener (SP-20): the gateway's staff route asks here for an
// export and streams the answer to staff, so the gateway needs no privilege on schema `audit` and
// never sees the signing key. Mutual TLS with the internal CA; only allow-listed certificate
// identities (AUDIT_EXPORT_ALLOWED_IDENTITIES, the gateway) reach a route, as at the vault.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { Type, type FastifyPluginAsyncTypebox, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../../lib/logger.js';
import { mutualTlsServerOptions, requireAllowedPeer } from '../../lib/mtls.js';
import { Problem, problemOf } from '../../lib/problem.js';
import { SERVER_TIMEOUTS } from '../../lib/listen.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { ExportRangeQuery, ExportUuid, parseExportRange, type ExportSubject } from '../../lib/audit/export.js';
import { buildAuditExport, type ExportSource } from './export.js';

export interface ExportListenerOptions {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  allowedIdentities: readonly string[];
}

const problem = (code: string, status: number, detail: string) => problemOf(code, status, detail);

const exportRoutes: FastifyPluginAsyncTypebox<{ source: ExportSource }> = async (app, opts) => {
  const routes = [
    { url: '/v1/clients/:id/audit', subject: (id: string): ExportSubject => ({ clientId: id }) },
    { url: '/v1/payments/:id/audit', subject: (id: string): ExportSubject => ({ paymentId: id }) },
  ];
  for (const route of routes) {
    app.get(route.url, {
      schema: {
        params: Type.Object({ id: ExportUuid }),
        querystring: ExportRangeQuery,
        response: { 200: Type.String(), '4xx': Problem, '5xx': Problem },
      },
    }, async (request, reply) => {
      const range = parseExportRange(request.query);
      if (typeof range === 'string') return reply.code(400).type('application/problem+json').send(problem('validation_failed', 400, range));
      const body = await buildAuditExport(opts.source, route.subject(request.params.id), range.from, range.to);
      return reply.type('application/x-ndjson; charset=utf-8').send(body);
    });
  }
};

/** The export application on `app` (the caller serves it over mutual TLS). */
export async function exportApp(app: FastifyInstance, opts: { source: ExportSource; allowedIdentities: readonly string[] }): Promise<void> {
  app.addHook('onRequest', requireAllowedPeer({ kind: 'service', allowed: opts.allowedIdentities }, (refusal) => {
    app.log.warn({ peer: refusal.identity ?? null, ip: refusal.ip }, 'audit export listener refused a client certificate');
  }));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      return reply.code(400).type('application/problem+json').send(problem('validation_failed', 400, err.message));
    }
    request.log.error({ err }, 'audit export failed');
    return reply.code(500).type('application/problem+json').send(problem('internal_error', 500, 'the export could not be built'));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('application/problem+json').send(problem('not_found', 404, 'no such route')));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(exportRoutes, { source: opts.source });
}

export function exportTlsOptions(listener: ExportListenerOptions) {
  return mutualTlsServerOptions({ cert: listener.cert, key: listener.key, ca: listener.ca });
}

export async function createExportServer(source: ExportSource, listener: ExportListenerOptions, log: Logger) {
  const server = Fastify({
    loggerInstance: log,
    ...SERVER_TIMEOUTS,
    // A year of a busy client's trail takes a while to prove; the gateway waits as long.
    requestTimeout: 120_000,
    genReqId: () => uuidv7(),
    requestIdHeader: false,
    return503OnClosing: true,
    https: exportTlsOptions(listener),
  }).withTypeProvider<TypeBoxTypeProvider>();
  // A connection keeps the certificate it was checked with.
  server.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  server.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    log.warn({ tlsError: err.code ?? null, err: { message: err.message }, ip: socket.remoteAddress }, 'audit export listener refused a TLS handshake');
  });
  await server.register(exportApp, { source, allowedIdentities: listener.allowedIdentities });
  return server;
}
