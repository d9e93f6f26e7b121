import type { Kysely } from 'kysely';
import { narrowOutboxReader, widenOutboxReader } from '../../../lib/audit/outbox-grants.js';

// SP-17: the audit-worker may read only event_id and payload of this outbox (lib/audit/outbox-grants.ts).
export async function up(db: Kysely<any>): Promise<void> {
  await narrowOutboxReader(db, 'vault');
}

export async function down(db: Kysely<any>): Promise<void> {
  await widenOutboxReader(db, 'vault');
}
