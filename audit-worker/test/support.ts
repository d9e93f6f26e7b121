// Shared set-up for the audit-worker tests: events in a real outbox, the store run as the
// worker's own database role, the test signing key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { createDb, createPool } from '../../lib/db.js';
import type { Clock } from '../../lib/clock.js';
import { makeAuditEvent, type AuditEvent } from '../../lib/audit/event.js';
import { appendAuditEvent, type AuditSource } from '../../lib/audit/outbox.js';
import { createSigner, loadPublicKey } from '../../lib/audit/chain.js';
import { testDataDir } from '../../test/support/pki.js';
import { EventStore } from '../src/store.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A connection to `url` acting as `role` (trust auth: privileges, not passwords, are what is proved). */
export function dbAs(t: Teardown, url: string, role: string): Kysely<any> {
  const u = new URL(url);
  u.searchParams.set('options', `-c role=${role}`);
  const db = createDb<any>(createPool(u.toString(), { max: 4, applicationName: `test-${role}` }));
  t.teardown(() => db.destroy());
  return db;
}

export const signingKeyFile = () => join(testDataDir(), 'keys', 'audit-signing.key');
export const publicKeyFile = () => join(testDataDir(), 'keys', 'audit-signing.pub');
export const testSigner = () => createSigner(readFileSync(signingKeyFile()));
export const testPublicKey = () => loadPublicKey(readFileSync(publicKeyFile()));

/** Writes `n` client events to an outbox, each in its own transaction, as producers do. */
export async function appendEvents(db: Kysely<any>, n: number, opts: { at: Date; clientId?: string; source?: AuditSource }): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const event = makeAuditEvent({
      component: opts.source ?? 'gateway',
      actor: { type: 'client', id: opts.clientId ?? 'client-1' },
      action: 'payment.confirm',
      outcome: 'success',
      targets: { clientId: opts.clientId ?? 'client-1', paymentId: `pay-${i}` },
      ip: '10.0.0.1',
      requestId: `req-${i}`,
      details: { attempt: i },
    }, new Date(opts.at.getTime() + i));
    await db.transaction().execute((trx) => appendAuditEvent(trx, opts.source ?? 'gateway', event));
    events.push(event);
  }
  return events;
}

/** Stores every event waiting in the gateway outbox, `batch` per transaction, as the worker's role would. */
export async function storeWaiting(db: Kysely<any>, clock: Clock, batch = 200): Promise<void> {
  const store = new EventStore(db, clock);
  for (;;) {
    const { rows } = await sql<{ event_id: string }>`select event_id from gateway.audit_outbox order by event_id limit ${batch}`.execute(db);
    if (rows.length === 0) return;
    await store.store(rows.map((r) => ({ source: 'gateway' as const, eventId: r.event_id })));
  }
}
