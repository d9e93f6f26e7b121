// The floor under `bench:audit`: what BullMQ alone costs for one job per event (the delivery
// SP-21 asks for: job id = event id), with the relay's job options, on the same Redis server, with
// no database and a processor that does nothing. The audit pipeline can be no faster than this;
// the gap between the two is the outbox, the chain and PostgreSQL. Measure it at a low
// concurrency: there a finishing job fetches the next in the same call, as the audit-worker's do
// under load, while a no-op processor with a thousand slots fetches every job with a call of its
// own and costs about twice as much.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AUDIT_JOB_OPTIONS } from '../lib/audit/outbox.js';
import { cpuSeconds } from './cpu.js';

export const BULLMQ_ALONE_CONCURRENCY = 50;

export interface BullmqAlone {
  addPerSecond: number;
  processPerSecond: number;
  /** CPU-ms per job, adding and processing it: this process (producer and worker) and Redis. */
  cpuMsPerJob: { node: number; redis: number };
}

export async function measureBullmqAlone(redisUrl: string, redisPid: number, jobs: number, concurrency: number): Promise<BullmqAlone> {
  const name = `bullmq-alone-${randomUUID()}`;
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: producer });
  const cpu = () => ({ node: cpuSeconds([process.pid]), redis: cpuSeconds([redisPid]) });
  const before = cpu();
  let t0 = Date.now();
  for (let i = 0; i < jobs; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, () => ({
      name: 'payment.confirm', data: { source: 'gateway' }, opts: { ...AUDIT_JOB_OPTIONS, jobId: randomUUID() },
    })));
  }
  const addSeconds = (Date.now() - t0) / 1000;
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => { finished = resolve; });
  t0 = Date.now();
  const consumer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(name, async () => {
    if (++done === jobs) finished();
    return 'stored';
  }, { connection: consumer, concurrency });
  await all;
  const processSeconds = (Date.now() - t0) / 1000;
  const after = cpu();
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  producer.disconnect();
  consumer.disconnect();
  return {
    addPerSecond: jobs / addSeconds,
    processPerSecond: jobs / processSeconds,
    cpuMsPerJob: { node: ((after.node - before.node) * 1000) / jobs, redis: ((after.redis - before.redis) * 1000) / jobs },
  };
}
