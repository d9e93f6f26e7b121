// Stores one audit event and removes it from its producer's outbox in the same transaction, so
// an event is either still waiting in the outbox or stored exactly once (SP-21).
import { sql, type Kysely } from 'kysely';
import { assertAuditEvent } from '../../lib/audit/event.js';
import { AUDIT_SOURCES, type AuditJob } from '../../lib/audit/outbox.js';

export class PoisonEvent extends Error {}

export async function storeEvent(db: Kysely<any>, job: AuditJob): Promise<void> {
  if (!AUDIT_SOURCES.includes(job.source)) throw new PoisonEvent(`unknown source ${String(job.source)}`);
  try {
    assertAuditEvent(job.event);
  } catch (err) {
    throw new PoisonEvent((err as Error).message);
  }
  const event = job.event;
  await db.transaction().execute(async (trx) => {
    await sql`insert into audit.events (event_id, occurred_at, source, payload)
              values (${event.id}, ${event.occurredAt}::timestamptz, ${job.source}, ${JSON.stringify(event)}::jsonb)
              on conflict (event_id) do nothing`.execute(trx);
    await sql`delete from ${sql.table(`${job.source}.audit_outbox`)} where event_id = ${event.id}`.execute(trx);
  });
}
