// A producer's own audit outbox, as gauges read at scrape time: how many events wait and how old
// the oldest is. Each producer (gateway, vault) reports its own table; the audit-worker reads no
// other process's schema for metrics (it only takes the rows it stores, audit-worker/src/store.ts).
import { sql, type Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { AuditSource } from './outbox.js';

export function registerOutboxGauges(registry: Registry, db: Kysely<any>, source: AuditSource, clock: Clock): void {
  const table = sql.table(`${source}.audit_outbox`);
  // One query per scrape for both gauges: prom-client collects them concurrently, so the second
  // waits on the first's promise instead of asking again.
  let pending: Promise<{ n: number; oldest: Date | null }> | undefined;
  const read = () => {
    pending ??= sql<{ n: number; oldest: Date | null }>`select count(*)::int as n, min(created_at) as oldest from ${table}`
      .execute(db).then((r) => r.rows[0]!).finally(() => { pending = undefined; });
    return pending;
  };
  new Gauge({
    name: 'pgw_audit_outbox_depth', help: 'Audit events waiting in this process\'s outbox', registers: [registry],
    async collect() { this.set((await read()).n); },
  });
  new Gauge({
    name: 'pgw_audit_outbox_oldest_age_seconds', help: 'Age of the oldest audit event in this process\'s outbox (0 when empty)',
    registers: [registry],
    async collect() {
      const { oldest } = await read();
      this.set(oldest === null ? 0 : Math.max(0, (clock.now().getTime() - oldest.getTime()) / 1000));
    },
  });
}
