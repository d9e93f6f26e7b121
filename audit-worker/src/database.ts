// kysely table types of the audit schema, which only the audit-worker reads or writes (the
// gateway reaches the store through the worker's export listener, never through SQL).
// Rows are written once and never updated (triggers refuse it), so insert types equal select types.
import type { ColumnType } from 'kysely';
import type { AuditEvent } from '../../lib/audit/event.js';
import type { AuditSource } from '../../lib/audit/outbox.js';
import type { SignedCheckpoint, SignedRetention } from '../../lib/audit/chain.js';

export interface AuditEventsTable {
  seq: number;
  event_id: string;
  occurred_at: ColumnType<Date, string, never>;
  recorded_at: ColumnType<Date, string, never>;
  source: AuditSource;
  payload: AuditEvent;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface AuditChainHeadTable {
  id: ColumnType<boolean, never, never>;
  seq: number;
  hash: Buffer;
  recorded_at: ColumnType<Date, string, string>;
}

export interface AuditCheckpointsTable {
  count: number;
  signed: SignedCheckpoint;
}

export interface AuditRetentionRecordsTable {
  id: ColumnType<number, never, never>;
  signed: SignedRetention;
}

export interface AuditDatabase {
  'audit.events': AuditEventsTable;
  'audit.chain_head': AuditChainHeadTable;
  'audit.checkpoints': AuditCheckpointsTable;
  'audit.retention_records': AuditRetentionRecordsTable;
}
