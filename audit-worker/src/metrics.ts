// The audit queue's gauges, read at scrape time (nothing runs between scrapes): waiting jobs and
// the age of the oldest (queue lag). The outboxes' depth and age are their producers' own gauges
// (lib/audit/outbox-metrics.ts): this process reads no other schema to report them.
import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';

export function registerAuditGauges(registry: Registry, queue: Queue, clock: Clock): void {
  new Gauge({
    name: 'pgw_audit_queue_waiting', help: 'Audit jobs waiting in the queue', registers: [registry],
    async collect() { this.set(await queue.getWaitingCount()); },
  });
  new Gauge({
    name: 'pgw_audit_queue_lag_seconds', help: 'Age of the oldest waiting audit job (0 when none waits)', registers: [registry],
    async collect() {
      const [oldest] = await queue.getWaiting(-1, -1);
      this.set(oldest === undefined ? 0 : Math.max(0, (clock.now().getTime() - oldest.timestamp) / 1000));
    },
  });
}
