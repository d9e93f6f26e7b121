// Shared process life cycle: server timeouts, readiness signal to a supervisor (npm start), and
// a graceful stop on SIGTERM/SIGINT where in-flight requests finish before pools close.
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import closeWithGrace from 'close-with-grace';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from './logger.js';

export const SERVER_TIMEOUTS = {
  connectionTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  bodyLimit: 64 * 1024,
} as const;

/** Tells a supervising parent (scripts/start.ts) this process is ready to serve. */
export function signalReady(name: string, details: Record<string, unknown> = {}): void {
  process.send?.({ type: 'ready', name, ...details });
}

/**
 * Runs `stop` once on SIGTERM or SIGINT (or when the supervising parent goes away), then exits 0,
 * or 1 if stopping failed or took longer than 20 s (close-with-grace). SIGHUP is left to the
 * certificate reload, and uncaught errors to exitOnUncaught: an unknown state is not drained.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  const grace = closeWithGrace({
    delay: 20_000,
    logger: { error: (message: unknown) => log.error({ detail: String(message) }, 'shutdown did not finish cleanly') },
    skip: ['SIGHUP', 'uncaughtException', 'unhandledRejection', 'beforeExit'],
  }, async ({ signal }) => {
    log.info({ signal: signal ?? 'disconnect' }, 'shutting down');
    await stop();
    log.info('stopped');
    log.flush?.();
  });
  process.on('disconnect', () => grace.close());
}

/** The parts of a Fastify instance of any logger or server type that the release needs. */
interface ClosableApp {
  server: { closeIdleConnections(): void };
  addHook(name: 'preClose', hook: () => Promise<void>): unknown;
  addHook(name: 'onSend', hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void>): unknown;
  addHook(name: 'onResponse', hook: () => Promise<void>): unknown;
}

/**
 * Lets a closing server's kept-alive connections go as soon as their last answer is out. Node's
 * server.close() ends only the connections idle at that moment; one still answering (a login
 * waiting for the password hasher) stays open for the keep-alive timeout (65 s) after its answer,
 * and close() waits for it. Answers started after close get `Connection: close`; those already
 * sending (a streamed export) have their connection ended once finished.
 */
export function releaseConnectionsOnClose(app: ClosableApp): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async () => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });
}

/** A TLS listener and the secure-context options it serves from now on. */
export interface TlsReload {
  name: string;
  server: { setSecureContext(options: SecureContextOptions): void };
  options: SecureContextOptions;
}

/**
 * On SIGHUP, `load` reads the certificate, key, trusted CA and revocation list files again (the
 * process's config loader, so the same checks apply) and every listener serves them to new
 * connections; open connections keep the context they were made with. Every new context is built
 * before any is swapped in, so a bad or mismatched file leaves all listeners on their old ones.
 */
export function onCertificateReload(log: Logger, load: () => TlsReload[]): void {
  process.on('SIGHUP', () => {
    let reloads: TlsReload[];
    try {
      reloads = load();
      for (const r of reloads) createSecureContext(r.options);
    } catch (err) {
      log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'certificate reload refused; listeners keep their current certificates');
      return;
    }
    for (const r of reloads) r.server.setSecureContext(r.options);
    log.info({ listeners: reloads.map((r) => r.name) }, 'certificates reloaded');
  });
}

/** An uncaught exception leaves the process in an unknown state: log it and let the supervisor restart us. */
export function exitOnUncaught(log: Logger): void {
  const die = (err: unknown) => {
    log.fatal({ err }, 'uncaught exception');
    log.flush?.();
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
}
