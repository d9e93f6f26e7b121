// Gateway process: reads config, connects PostgreSQL, Redis and the vault, then serves the public
// API over HTTPS (SP-1) and the staff API over mutual TLS on a private address.
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Queue } from 'bullmq';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { loadOrExit } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { createDb, createPool, migrateToLatest } from '../../lib/db.js';
import { checkEvictionPolicy, createRedis } from '../../lib/redis.js';
import { AEAD_CIPHERS } from '../../lib/mtls.js';
import { createVaultClient } from '../../lib/vault-client.js';
import { createAuditClient } from '../../lib/audit-client.js';
import { startOutboxRelay, type AuditJob } from '../../lib/audit/outbox.js';
import { exitOnUncaught, onCertificateReload, onShutdown, releaseConnectionsOnClose, SERVER_TIMEOUTS, signalReady } from '../../lib/listen.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { createMetrics, instrument, listenMetrics, metricsServer } from '../../lib/metrics.js';
import { registerOutboxGauges } from '../../lib/audit/outbox-metrics.js';
import { systemClock } from '../../lib/clock.js';
import { loadGatewayConfig } from './config.js';
import type { GatewayDatabase } from './database.js';
import { publicApp } from './app.js';
import { trustProxyOption } from './plugins/client-ip.js';
import { adminApp, adminTlsOptions } from './admin/admin.app.js';
import { createSmsProvider } from './identity/sms.provider.js';
import { createPasswordHasher } from './identity/passwords.hasher.js';
import { startWebhookDispatcher } from './webhooks/dispatcher.js';
import { createGatewayMetrics } from './metrics.js';

const config = loadOrExit(() => loadGatewayConfig(process.env));
const log = createLogger('gateway', config.logLevel);
exitOnUncaught(log);

const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gateway' });
const db = createDb<GatewayDatabase>(pool);
if (config.migrateOnStart) {
  await migrateToLatest(db, 'gateway', fileURLToPath(new URL('./migrations', import.meta.url)), log);
}

const redis = createRedis(config.redisUrl, { autoPipeline: true });
await checkEvictionPolicy(redis, config.env, log);
const queueConnection = createRedis(config.redisUrl, { forWorker: true });
const auditQueue = new Queue<AuditJob>(config.auditQueue, { connection: queueConnection, prefix: config.bullmqPrefix });
auditQueue.on('error', (err) => log.warn({ err }, 'audit queue connection error'));
const relay = startOutboxRelay({ db, source: 'gateway', queue: auditQueue, log });

const metrics = createMetrics('gateway');
const gatewayMetrics = createGatewayMetrics(metrics.registry);
registerOutboxGauges(metrics.registry, db, 'gateway', systemClock);
const metricsListenerServer = metricsServer(metrics.registry);

const vault = createVaultClient(config.vault, gatewayMetrics.vaultCall);
const audit = createAuditClient(config.auditExport);
// Deliveries run beside the listeners; a slow merchant server holds only the worker's own connections.
const webhooks = config.webhooks.enabled
  ? startWebhookDispatcher({ db, config: config.webhooks, redisUrl: config.redisUrl, clock: systemClock, log, metrics: gatewayMetrics })
  : undefined;
const ctx = {
  config, db, pool, redis, vault, audit, clock: systemClock, ...(webhooks ? { webhooks } : {}),
  sms: createSmsProvider(config.identity.sms, systemClock),
  passwords: createPasswordHasher(config.identity.passwordHash),
  metrics: gatewayMetrics,
};
// Unknown phones must cost a login the same as known ones from the first request on (SP-11).
await ctx.passwords.prepare();

const common = {
  loggerInstance: log,
  ...SERVER_TIMEOUTS,
  genReqId: () => uuidv7(),
  requestIdHeader: false as const,
  return503OnClosing: true,
};

function publicTlsOptions(listener: typeof config.publicListener) {
  return { cert: listener.cert, key: listener.key, minVersion: 'TLSv1.2' as const, ciphers: AEAD_CIPHERS, honorCipherOrder: true };
}

const publicServer = Fastify({
  ...common,
  trustProxy: trustProxyOption(config.trustProxy),
  https: publicTlsOptions(config.publicListener),
}).withTypeProvider<TypeBoxTypeProvider>();
instrument(publicServer, metrics, 'public');
releaseConnectionsOnClose(publicServer);
await publicServer.register(publicApp, { ctx });

// The staff listener trusts no proxy: mutual TLS ends here, so its peer is the staff machine.
const adminServer = Fastify({
  ...common,
  https: adminTlsOptions(config.adminListener),
}).withTypeProvider<TypeBoxTypeProvider>();
instrument(adminServer, metrics, 'staff');
releaseConnectionsOnClose(adminServer);
await adminServer.register(adminApp, { ctx });

onCertificateReload(log, () => {
  const fresh = loadGatewayConfig(process.env);
  return [
    { name: 'public', server: publicServer.server, options: publicTlsOptions(fresh.publicListener) },
    { name: 'staff', server: adminServer.server, options: adminTlsOptions(fresh.adminListener) },
  ];
});

onShutdown(log, async () => {
  await Promise.all([publicServer.close(), adminServer.close()]);
  metricsListenerServer.close();
  await relay.stop();
  await webhooks?.stop();
  await auditQueue.close();
  await vault.close();
  await audit.close();
  await ctx.sms.close();
  await Promise.all([redis.quit(), queueConnection.quit()]);
  await db.destroy();
});

await publicServer.listen({ host: config.publicListener.host, port: config.publicListener.port });
await adminServer.listen({ host: config.adminListener.host, port: config.adminListener.port });
const publicPort = (publicServer.server.address() as { port: number }).port;
const adminPort = (adminServer.server.address() as { port: number }).port;
const metricsPort = await listenMetrics(metricsListenerServer, config.metrics);
signalReady('gateway', { publicPort, adminPort, metricsPort });
