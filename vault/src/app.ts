// The vault application (SP-4, SP-16): every request passes the client-certificate allow-list
// before any route runs, and a refused peer is audited. Served only over mutual TLS by server.ts;
// never listens itself.
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { requireAllowedPeer } from '../../lib/mtls.js';
import type { VaultContext } from './context.js';
import { callerAudited, recordVaultAudit } from './audit.js';
import { callerOf } from './caller.js';
import { installErrorHandler, problem } from './errors.js';
import { tokensRoutes } from './tokens.routes.js';
import { authorizationsRoutes } from './authorizations.routes.js';
import { challengesRoutes } from './challenges.routes.js';
import { fingerprintsRoutes } from './fingerprints.routes.js';
import { lazyChildLoggerFactory } from './request-logger.js';

/**
 * JSON bodies are read as a Buffer that is zeroed once parsed, so the raw request bytes holding a
 * PAN or CVV do not linger; the parsed strings are immutable in JavaScript and go when collected.
 * A parse error never quotes the input (V8's SyntaxError message would).
 */
function zeroingJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const raw = body as Buffer;
    let parsed: unknown;
    let valid = true;
    try {
      parsed = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
    } catch {
      valid = false;
    } finally {
      raw.fill(0);
    }
    if (valid) done(null, parsed);
    else done(Object.assign(new Error('the request body is not valid JSON'), { statusCode: 400 }), undefined);
  });
}

/**
 * TLS hardening of the vault listener: renegotiation is refused (a connection keeps the certificate
 * it was verified with), and a client refused during the handshake (no certificate, another CA,
 * expired) is audited like a refused peer.
 */
export function hardenTlsListener(server: Server, ctx: VaultContext, log: FastifyBaseLogger): void {
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    // `tlsError`, not `err.code`: the redaction of `*.code` (OTPs) would hide it.
    log.warn({ tlsError: err.code ?? null, err: { message: err.message }, ip: socket.remoteAddress }, 'vault refused a TLS handshake');
    recordVaultAudit(ctx.db, ctx.clock, { identity: 'unknown', ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}) }, {
      action: 'vault.connection.refused', outcome: 'refused', details: { reason: 'tls_handshake', tlsError: err.code ?? null },
    }).catch((auditErr: unknown) => log.error({ err: auditErr }, 'could not record a refused handshake'));
  });
}

const ROUTE_ACTIONS = new Map([
  ['/v1/tokens', 'vault.card.tokenize'],
  ['/v1/authorizations', 'vault.card.authorize'],
  ['/v1/tokens/:token', 'vault.card.deleted'],
  ['/v1/refunds', 'vault.refund'],
  ['/v1/challenges/:ref', 'vault.challenge.read'],
  ['/v1/challenges/:ref/complete', 'vault.challenge.complete'],
  ['/v1/fingerprints/translations', 'vault.fingerprint.translations'],
]);

function problemCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fastify options the vault's server needs: unknown body fields are refused, not silently dropped;
 * request loggers are built only when a request logs.
 */
export const VAULT_FASTIFY_OPTIONS = {
  ajv: { customOptions: { removeAdditional: false as const } },
  childLoggerFactory: lazyChildLoggerFactory,
};

export async function vaultApp(app: FastifyInstance, opts: { ctx: VaultContext }): Promise<void> {
  const { ctx } = opts;
  app.decorate('vaultCtx', ctx);
  zeroingJsonParser(app);
  installErrorHandler(app);
  // Every refused request is audited, so a misconfigured client repeating itself fills the audit
  // log: accepted, as each refusal is evidence of who knocked and how often (only certificates of
  // the internal CA get this far). Recorded before the 403 leaves; if it cannot be, the answer is 500.
  const allowListed = requireAllowedPeer({ kind: 'service', allowed: ctx.config.listener.allowedIdentities }, async (refusal, request) => {
    app.log.warn({ peer: refusal.identity ?? null, ip: refusal.ip }, 'vault refused a client certificate');
    const caller = Object.assign(callerOf(request), { identity: refusal.identity ?? 'unknown' });
    await recordVaultAudit(ctx.db, ctx.clock, caller, {
      action: 'vault.connection.refused', outcome: 'refused', details: { reason: 'peer_not_allowed' },
    });
  });
  // The peer certificate of a connection cannot change (renegotiation is disabled by
  // hardenTlsListener), so a kept-alive connection is checked on its first request only.
  const allowedConnections = new WeakSet<object>();
  app.addHook('onRequest', async (request, reply) => {
    const socket = request.raw.socket;
    if (allowedConnections.has(socket)) return;
    await allowListed(request, reply);
    if (reply.sent) return reply;
    allowedConnections.add(socket);
    return undefined;
  });
  // SP-17: every refusal leaves its one event. Services record what they decide (in their
  // transaction, or after it rolled back); a request refused before any service ran (schema,
  // unreadable body, unknown route) or refused by one that records nothing (an unknown challenge)
  // is recorded here, awaited before the answer leaves: a refusal that cannot be recorded is
  // answered 500. The caller is marked before the write, so that 500 is not recorded twice.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const caller = callerOf(request);
    if (callerAudited(caller)) return payload;
    const route = request.routeOptions.url;
    const action = ROUTE_ACTIONS.get(route ?? '') ?? 'vault.request';
    const code = problemCodeOf(payload);
    await recordVaultAudit(ctx.db, ctx.clock, caller, {
      action,
      outcome: reply.statusCode < 500 ? 'refused' : 'failure',
      details: { status: reply.statusCode, ...(code ? { reason: code } : {}), ...(action === 'vault.request' ? { method: request.method } : {}) },
    });
    return payload;
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('application/problem+json').send(problem('not_found', 'no such route')));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(tokensRoutes);
  await app.register(authorizationsRoutes);
  await app.register(fingerprintsRoutes);
  // Only the sandbox lets a caller declare a challenge's result; with any other processor the
  // routes do not exist (404), whatever the gateway is configured to show.
  if (ctx.processor.name === 'sandbox') await app.register(challengesRoutes);
}
