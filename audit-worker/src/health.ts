// The worker's health endpoint (operations): is it consuming, how much waits in the queue, and how
// old is the last signed checkpoint. 503 when it cannot tell. Each producer's outbox backlog is
// that producer's own metric (pgw_audit_outbox_depth): the worker reads no other schema for it.
import { createServer, type Server } from 'node:http';
import type { Kysely } from 'kysely';
import type { Queue } from 'bullmq';
import type { Clock } from '../../lib/clock.js';
import { lastCheckpoint } from './checkpoint.js';
import type { AuditDatabase } from './database.js';

export interface AuditHealth {
  status: 'ok' | 'down';
  queue?: { waiting: number; active: number; delayed: number; failed: number };
  lastCheckpoint?: { count: number; at: string; ageSeconds: number } | null;
  error?: string;
}

export async function auditHealth(db: Kysely<AuditDatabase>, queue: Queue, clock: Clock, running: boolean): Promise<AuditHealth> {
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const cp = await lastCheckpoint(db);
    return {
      status: running ? 'ok' : 'down',
      queue: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 },
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
