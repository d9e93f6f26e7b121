// Audit-worker process (SP-21): consumes the BullMQ audit queue, stores each event once in the
// hash chain (store.ts), signs checkpoints at intervals (checkpoint.ts), reports on /healthz,
// and serves signed investigation exports to the gateway on a private mutual-TLS listener
// (export-server.ts): the only process that reads the audit schema or holds the signing key.
// Several instances may run: the chain lock in store.ts orders them (see store.ts header).
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { loadOrExit } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';
import { checkEvictionPolicy, createRedis } from '../../lib/redis.js';
import { exitOnUncaught, onCertificateReload, onShutdown, releaseConnectionsOnClose, signalReady } from '../../lib/listen.js';
import { systemClock } from '../../lib/clock.js';
import { createSigner } from '../../lib/audit/chain.js';
import { loadAuditWorkerConfig } from './config.js';
import { startConsumer } from './consumer.js';
import { writeCheckpoint } from './checkpoint.js';
import { auditHealth, healthServer } from './health.js';
import type { AuditDatabase } from './database.js';
import { createExportServer, exportTlsOptions } from './export-server.js';
import { registerAuditGauges } from './metrics.js';
import { createMetrics, instrument, listenMetrics, metricsServer } from '../../lib/metrics.js';

const config = loadOrExit(() => loadAuditWorkerConfig(process.env));
const log = createLogger('audit-worker', config.logLevel);
exitOnUncaught(log);
const signer = createSigner(config.signingKey);

const pool = createPool(config.databaseUrl, { max: 4, applicationName: 'audit-worker' });
const db = createDb<AuditDatabase>(pool);
if (config.migrateOnStart) {
  await migrateToLatest(db, 'audit', fileURLToPath(new URL('./migrations', import.meta.url)), log);
}

const connection = createRedis(config.redisUrl, { forWorker: true });
await checkEvictionPolicy(connection, config.env, log);

const worker = startConsumer({
  db, connection, queueName: config.auditQueue, prefix: config.bullmqPrefix, clock: systemClock, log,
  concurrency: config.concurrency, batchSize: config.batchSize, jobLockMs: config.jobLockMs,
});

const monitor = new Queue(config.auditQueue, { connection: createRedis(config.redisUrl), prefix: config.bullmqPrefix });
monitor.on('error', () => undefined);
const health = healthServer(() => auditHealth(db, monitor, systemClock, worker.isRunning()));
await new Promise<void>((resolve) => health.listen(config.health.port, config.health.host, resolve));

const checkpoint = async () => {
  try {
    const cp = await writeCheckpoint(db, signer, systemClock, config.checkpointFile);
    if (cp) log.info({ count: cp.count }, 'audit checkpoint signed');
  } catch (err) {
    log.error({ err }, 'audit checkpoint failed');
  }
};
const timer = setInterval(() => void checkpoint(), config.checkpointIntervalMs);

const metrics = createMetrics('audit-worker');
registerAuditGauges(metrics.registry, monitor, systemClock);
const metricsListenerServer = metricsServer(metrics.registry);
const metricsPort = await listenMetrics(metricsListenerServer, config.metrics);

const exportServer = await createExportServer({ db, signer, clock: systemClock, checkpointFile: config.checkpointFile }, config.exportListener, log);
instrument(exportServer, metrics, 'export');
releaseConnectionsOnClose(exportServer);
await exportServer.listen({ host: config.exportListener.host, port: config.exportListener.port });

onCertificateReload(log, () => [
  { name: 'export', server: exportServer.server, options: exportTlsOptions(loadAuditWorkerConfig(process.env).exportListener) },
]);

onShutdown(log, async () => {
  clearInterval(timer);
  await exportServer.close();
  metricsListenerServer.close();
  await new Promise<void>((resolve) => health.close(() => resolve()));
  await worker.close();
  await checkpoint();
  await monitor.close();
  await connection.quit();
  await db.destroy();
});

await worker.waitUntilReady();
signalReady('audit-worker', {
  healthPort: (health.address() as { port: number }).port,
  exportPort: (exportServer.server.address() as { port: number }).port,
  metricsPort,
});
