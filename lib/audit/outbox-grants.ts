// SP-17 (issue 17): the audit-worker reads a producer's outbox only to take the rows it stores
// (DELETE … RETURNING event_id, payload, audit-worker/src/store.ts). Its table-wide SELECT also let
// it read created_at and published_at, which served only its metrics; those are now each
// producer's own gauges (outbox-metrics.ts), so the grant narrows to the two columns the delete
// returns. Each producer's migration calls these for its own outbox; deploy/postgres/grants.sql
// grants the same.
import { sql, type Kysely } from 'kysely';
import type { AuditSource } from './outbox.js';

export async function narrowOutboxReader(db: Kysely<any>, source: AuditSource): Promise<void> {
  const table = sql.table(`${source}.audit_outbox`);
  await sql`revoke select on ${table} from audit_writer`.execute(db);
  await sql`grant select (event_id, payload) on ${table} to audit_writer`.execute(db);
}

export async function widenOutboxReader(db: Kysely<any>, source: AuditSource): Promise<void> {
  const table = sql.table(`${source}.audit_outbox`);
  await sql`revoke select (event_id, payload) on ${table} from audit_writer`.execute(db);
  await sql`grant select on ${table} to audit_writer`.execute(db);
}
