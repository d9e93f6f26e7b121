// The audit pipeline's gauges, read at scrape time (nothing runs between scrapes): each
// producer's outbox depth and its oldest row's age, and the queue's waiting jobs and the age of
// the oldest (queue lag).
import { sql, type Kysely } from 'kysely';
import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import { AUDIT_SOURCES } from '../../lib/audit/outbox.js';
import type { AuditDatabase } from './database.js';

// Each gauge reads its own figure: prom-client collects the gauges of one scrape concurrently.
export function registerAuditGauges(registry: Registry, db: Kysely<AuditDatabase>, queue: Queue, clock: Clock): void {
  const outbox = async (source: string) => (await sql<{ n: number; oldest: Date | null }>`
    select count(*)::int as n, min(created_at) as oldest from ${sql.table(`${source}.audit_outbox`)}`.execute(db)).rows[0]!;
  const ageOf = (at: number | undefined) => (at === undefined ? 0 : Math.max(0, (clock.now().getTime() - at) / 1000));
  new Gauge({
    name: 'pgw_audit_outbox_depth', help: 'Audit events waiting in a producer outbox', labelNames: ['source'], registers: [registry],
    async collect() {
      for (const source of AUDIT_SOURCES) this.set({ source }, (await outbox(source)).n);
    },
  });
  new Gauge({
    name: 'pgw_audit_outbox_oldest_age_seconds', help: 'Age of the oldest audit event in a producer outbox (0 when empty)',
    labelNames: ['source'], registers: [registry],
    async collect() {
      for (const source of AUDIT_SOURCES) this.set({ source }, ageOf((await outbox(source)).oldest?.getTime()));
    },
  });
  new Gauge({
    name: 'pgw_audit_queue_waiting', help: 'Audit jobs waiting in the queue', registers: [registry],
    async collect() { this.set(await queue.getWaitingCount()); },
  });
  new Gauge({
    name: 'pgw_audit_queue_lag_seconds', help: 'Age of the oldest waiting audit job (0 when none waits)', registers: [registry],
    async collect() {
      const [oldest] = await queue.getWaiting(-1, -1);
      this.set(ageOf(oldest?.timestamp));
    },
  });
}
