// The worker's health endpoint (operations): is it consuming, how much waits in the queue and in
// each producer's outbox, and how old is the last signed checkpoint. 503 when it cannot tell.
import { createServer, type Server } from 'node:http';
import { sql, type Kysely } from 'kysely';
import type { Queue } from 'bullmq';
import type { Clock } from '../../lib/clock.js';
import { AUDIT_SOURCES } from '../../lib/audit/outbox.js';
import { lastCheckpoint } from './checkpoint.js';
import type { AuditDatabase } from './database.js';

export interface AuditHealth {
  status: 'ok' | 'down';
  queue?: { waiting: number; active: number; delayed: number; failed: number };
  outboxBacklog?: Record<string, number>;
  lastCheckpoint?: { count: number; at: string; ageSeconds: number } | null;
  error?: string;
}

export async function auditHealth(db: Kysely<AuditDatabase>, queue: Queue, clock: Clock, running: boolean): Promise<AuditHealth> {
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const backlog: Record<string, number> = {};
    for (const source of AUDIT_SOURCES) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${source}.audit_outbox`)}`.execute(db);
      backlog[source] = rows[0]!.n;
    }
    const cp = await lastCheckpoint(db);
    return {
      status: running ? 'ok' : 'down',
      queue: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 },
      outboxBacklog: backlog,
      lastCheckpoint: cp ? { count: cp.count, at: cp.at, ageSeconds: Math.round((clock.now().getTime() - Date.parse(cp.at)) / 1000) } : null,
    };
  } catch (err) {
    return { status: 'down', error: (err as Error).message };
  }
}

export function healthServer(report: () => Promise<AuditHealth>): Server {
  return createServer((req, res) => {
    if (req.url !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    report().then((h) => {
      res.writeHead(h.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
    }, () => res.writeHead(503).end());
  });
}
