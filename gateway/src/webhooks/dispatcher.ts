// The webhook dispatcher inside the gateway process: a relay loop turns committed merchant events
// into deliveries (relay.ts) and queues one BullMQ job per delivery (job id = delivery id, so
// queueing twice is harmless); a worker makes each attempt (deliver.ts) with exponential back-off
// over the configured window (webhooks.config.ts `retryPolicy`), the last one marking the delivery
// failed. Payments never wait on any of it: they only write the event in their own transaction.
import { Queue, Worker } from 'bullmq';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createRedis } from '../../../lib/redis.js';
import type { Clock } from '../../../lib/clock.js';
import type { GatewayDatabase } from '../database.js';
import { attemptDelivery } from './deliver.js';
import type { GatewayMetrics } from '../metrics.js';
import { webhookAgents } from './outbound.js';
import { relayMerchantEvents } from './relay.js';
import type { Resolve } from './ssrf-guard.js';
import type { WebhooksConfig } from './webhooks.config.js';

export interface WebhookQueue {
  enqueue(deliveryIds: readonly string[]): Promise<void>;
}

export interface WebhookDispatcher extends WebhookQueue {
  stop(): Promise<void>;
}

interface Job { deliveryId: string }

/** A delivery still pending and never attempted this long after it was made lost its job (a crash between relay and queue). */
const STRANDED_AFTER_MS = 60_000;

export function startWebhookDispatcher(opts: {
  db: Kysely<GatewayDatabase>;
  config: WebhooksConfig;
  redisUrl: string;
  clock: Clock;
  log: Pick<Logger, 'warn' | 'error'>;
  resolve?: Resolve;
  /** Counts each attempt's outcome (gateway/src/metrics.ts). */
  metrics?: Pick<GatewayMetrics, 'webhookAttempt'>;
}): WebhookDispatcher {
  const { db, config, clock, log } = opts;
  const queueConnection = createRedis(opts.redisUrl, { forWorker: true });
  const workerConnection = createRedis(opts.redisUrl, { forWorker: true });
  const queue = new Queue<Job>(config.queue, { connection: queueConnection, prefix: config.queuePrefix });
  queue.on('error', (err) => log.warn({ err }, 'webhook queue connection error'));
  const agents = webhookAgents({ allowedHosts: config.allowedHosts, timeoutMs: config.timeoutMs, connections: config.concurrency }, opts.resolve);
  const deps = { db, secretKey: config.secretKey, dispatcherFor: agents.dispatcherFor, timeoutMs: config.timeoutMs, now: () => clock.now() };
  const { attempts, baseDelayMs } = config.retry;

  const worker = new Worker<Job>(config.queue, async (job) => {
    const finalAttempt = job.attemptsMade + 1 >= attempts;
    try {
      if (await attemptDelivery(deps, job.data.deliveryId, finalAttempt) === 'succeeded') opts.metrics?.webhookAttempt('succeeded');
    } catch (err) {
      opts.metrics?.webhookAttempt(finalAttempt ? 'failed' : 'retrying');
      throw err;
    }
  }, { connection: workerConnection, prefix: config.queuePrefix, concurrency: config.concurrency });
  worker.on('error', (err) => log.warn({ err }, 'webhook worker error'));

  const enqueue = async (ids: readonly string[]) => {
    if (ids.length === 0) return;
    await queue.addBulk(ids.map((deliveryId) => ({
      name: 'deliver',
      data: { deliveryId },
      opts: {
        jobId: deliveryId, attempts, backoff: { type: 'exponential', delay: baseDelayMs },
        // The database keeps the evidence (webhook_attempts); a finished job only frees its id for a redelivery.
        removeOnComplete: true, removeOnFail: true,
      },
    })));
  };

  const requeueStranded = async (olderThan: Date | null) => {
    let q = db.selectFrom('gateway.webhook_deliveries').select('id').where('status', '=', 'pending').orderBy('created_at').limit(1_000);
    if (olderThan) q = q.where('attempts', '=', 0).where('created_at', '<', olderThan);
    await enqueue((await q.execute()).map((r) => r.id));
  };

  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    let lastSweep = clock.now().getTime();
    try { await requeueStranded(null); } catch (err) { log.warn({ err }, 'webhook requeue at start failed'); }
    while (!stopped) {
      try {
        await enqueue(await relayMerchantEvents(db, clock.now()));
        const now = clock.now().getTime();
        if (now - lastSweep >= STRANDED_AFTER_MS) {
          lastSweep = now;
          await requeueStranded(new Date(now - STRANDED_AFTER_MS));
        }
      } catch (err) {
        log.warn({ err }, 'webhook relay failed; events wait in gateway.merchant_events');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.relayIntervalMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  })();

  return {
    enqueue,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await worker.close();
      await queue.close();
      await agents.close();
      await Promise.all([queueConnection.quit(), workerConnection.quit()]);
    },
  };
}
