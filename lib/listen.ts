// Shared process life cycle: server timeouts, readiness signal to a supervisor (npm start), and
// a graceful stop on SIGTERM/SIGINT where in-flight requests finish before pools close.
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

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0 (or 1 if stopping failed). */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    stop().then(
      () => { log.info('stopped'); log.flush?.(); process.exit(0); },
      (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('disconnect', () => handler('disconnect'));
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
