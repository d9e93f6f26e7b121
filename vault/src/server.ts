// Vault process: the only place a card number exists at rest. Listens on a private address over
// mutual TLS (SP-4); imports nothing from the gateway.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Queue } from 'bullmq';
import { loadOrExit } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';
import { checkEvictionPolicy, createRedis } from '../../lib/redis.js';
import { mutualTlsServerOptions } from '../../lib/mtls.js';
import { startOutboxRelay, type AuditJob } from '../../lib/audit/outbox.js';
import { exitOnUncaught, onCertificateReload, onShutdown, releaseConnectionsOnClose, SERVER_TIMEOUTS, signalReady } from '../../lib/listen.js';
import { systemClock } from '../../lib/clock.js';
import { createMetrics, instrument, listenMetrics, metricsServer } from '../../lib/metrics.js';
import { registerOutboxGauges } from '../../lib/audit/outbox-metrics.js';
import { createVaultMetrics } from './metrics.js';
import { loadVaultConfig } from './config.js';
import { hardenTlsListener, vaultApp, VAULT_FASTIFY_OPTIONS } from './app.js';
import { createVaultContext } from './context.js';
import { checkKekVersions } from './kek-versions.js';
import { registerFingerprintVersions } from './fingerprint-rotation.js';
import { startRetentionSweep } from './retention.js';
import type { VaultDatabase } from './storage/database.js';

const config = loadOrExit(() => loadVaultConfig(process.env));
const log = createLogger('vault', config.logLevel);
exitOnUncaught(log);

const pool = createPool(config.databaseUrl, { max: 20, applicationName: 'vault', pipeline: true });
const db = createDb<VaultDatabase>(pool);
if (config.migrateOnStart) {
  await migrateToLatest(db, 'vault', fileURLToPath(new URL('./migrations', import.meta.url)), log);
}

const queueConnection = createRedis(config.redisUrl, { forWorker: true });
await checkEvictionPolicy(queueConnection, config.env, log);
const auditQueue = new Queue<AuditJob>(config.auditQueue, { connection: queueConnection, prefix: config.bullmqPrefix });
auditQueue.on('error', (err) => log.warn({ err }, 'audit queue connection error'));
const relay = startOutboxRelay({ db, source: 'vault', queue: auditQueue, log });

function listenerTlsOptions(listener: typeof config.listener) {
  return mutualTlsServerOptions({ cert: listener.cert, key: listener.key, ca: listener.ca, crl: listener.crl });
}

const server = Fastify({
  ...VAULT_FASTIFY_OPTIONS,
  loggerInstance: log,
  ...SERVER_TIMEOUTS,
  genReqId: () => randomUUID(), // request ids only correlate log lines; randomUUID is pooled and cheap
  requestIdHeader: false,
  return503OnClosing: true,
  https: listenerTlsOptions(config.listener),
});
const metrics = createMetrics('vault');
registerOutboxGauges(metrics.registry, db, 'vault', systemClock);
// Keys, fingerprint key and BIN table load here: any of them missing or malformed stops the boot.
let ctx;
try {
  ctx = createVaultContext(config, db, systemClock, createVaultMetrics(metrics.registry));
  await checkKekVersions(db, ctx.keys);
  await registerFingerprintVersions(db, config.fingerprintKeys, systemClock);
} catch (err) {
  log.fatal({ err: { name: (err as Error).name, message: (err as Error).message } }, 'vault cannot load its keys or data; refusing to start');
  process.exit(1);
}
// Expired CVVs are zeroed within a second of their 15-minute window (SP-16).
const sweeper = setInterval(() => ctx.cvv.sweep(), 1_000);
sweeper.unref();
// Card data past its retention window is deleted at boot and then every interval (SP-16).
const stopRetention = config.retentionSweepIntervalMs > 0 ? startRetentionSweep(ctx, config.retentionSweepIntervalMs, log) : undefined;

hardenTlsListener(server.server, ctx, log);
const metricsListenerServer = metricsServer(metrics.registry);
// Per-route latency of tokenize, authorize, refund and delete: the vault's operations.
instrument(server, metrics, 'vault');
releaseConnectionsOnClose(server);
await server.register(vaultApp, { ctx });

onCertificateReload(log, () => [
  { name: 'vault', server: server.server, options: listenerTlsOptions(loadVaultConfig(process.env).listener) },
]);

onShutdown(log, async () => {
  await server.close();
  metricsListenerServer.close();
  clearInterval(sweeper);
  await stopRetention?.();
  ctx.cvv.clear();
  await relay.stop();
  await auditQueue.close();
  await queueConnection.quit();
  await db.destroy();
});

await server.listen({ host: config.listener.host, port: config.listener.port });
const metricsPort = await listenMetrics(metricsListenerServer, config.metrics);
signalReady('vault', { port: (server.server.address() as { port: number }).port, metricsPort });
