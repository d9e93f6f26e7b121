// kysely table types of the gateway schema. Each capability adds its tables' interfaces here.
import type { ColumnType } from 'kysely';

export interface AuditOutboxTable {
  event_id: string;
  payload: unknown;
  created_at: ColumnType<Date, string, never>;
  published_at: ColumnType<Date | null, never, string | null>;
}

export interface GatewayDatabase {
  'gateway.audit_outbox': AuditOutboxTable;
}
