import { sql, type Kysely } from 'kysely';

// SP-17 (issue 17): the audit-worker reads the vault outbox only to take the rows it stores
// (DELETE … RETURNING event_id, payload). Its table-wide SELECT also let it read created_at and
// published_at, which served only its metrics; those are now this process's own gauges
// (lib/audit/outbox-metrics.ts), so the grant narrows to the two columns the delete returns.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`revoke select on vault.audit_outbox from audit_writer`.execute(db);
  await sql`grant select (event_id, payload) on vault.audit_outbox to audit_writer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`revoke select (event_id, payload) on vault.audit_outbox from audit_writer`.execute(db);
  await sql`grant select on vault.audit_outbox to audit_writer`.execute(db);
}
