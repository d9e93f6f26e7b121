// Audit-worker process: consumes the BullMQ audit queue and stores each event (SP-21).
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, Worker } from 'bullmq';
import { loadOrExit } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';
import { assertNoEviction, createRedis } from '../../lib/redis.js';
import { exitOnUncaught, onShutdown, signalReady } from '../../lib/listen.js';
import type { AuditJob } from '../../lib/audit/outbox.js';
import { loadAuditWorkerConfig } from './config.js';
import { PoisonEvent, storeEvent } from './store.js';

const config = loadOrExit(() => loadAuditWorkerConfig(process.env));
const log = createLogger('audit-worker', config.logLevel);
exitOnUncaught(log);

const pool = createPool(config.databaseUrl, { max: 4, applicationName: 'audit-worker' });
const db = createDb<any>(pool);
if (config.migrateOnStart) {
  await migrateToLatest(db, 'audit', fileURLToPath(new URL('./migrations', import.meta.url)), log);
}

const connection = createRedis(config.redisUrl, { forWorker: true });
try {
  await assertNoEviction(connection);
} catch (err) {
  if (config.env === 'production') throw err;
  log.warn({ err }, 'AUDIT EVENTS MAY BE LOST: Redis eviction policy is unsafe (refused in production)');
}

const worker = new Worker<AuditJob>(config.auditQueue, async (job) => {
  try {
    await storeEvent(db, job.data);
  } catch (err) {
    if (err instanceof PoisonEvent) throw new UnrecoverableError(err.message);
    throw err;
  }
}, { connection, concurrency: config.concurrency, autorun: true });
worker.on('error', (err) => log.warn({ err }, 'audit worker connection error'));
worker.on('failed', (job, err) => log.error({ jobId: job?.id, err: { message: err.message } }, 'audit job failed'));

const health = createServer((req, res) => {
  const ok = req.url === '/healthz' && worker.isRunning();
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: ok ? 'ok' : 'down' }));
});
await new Promise<void>((resolve) => health.listen(config.health.port, config.health.host, resolve));

onShutdown(log, async () => {
  await new Promise<void>((resolve) => health.close(() => resolve()));
  await worker.close();
  await connection.quit();
  await db.destroy();
});

await worker.waitUntilReady();
signalReady('audit-worker', { healthPort: (health.address() as { port: number }).port });
