// Shared process life cycle: server timeouts, readiness signal to a supervisor (npm start), and
// a graceful stop on SIGTERM/SIGINT where in-flight requests finish before pools close.
import closeWithGrace from 'close-with-grace';
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
