// kysely table types of the webhook capability (migration 2026120620_webhooks).
import type { ColumnType } from 'kysely';

export interface WebhookEndpointsTable {
  id: string;
  merchant_id: string;
  livemode: boolean;
  url: string;
  events: string[];
  secret_sealed: Buffer;
  previous_secret_sealed: Buffer | null;
  previous_secret_expires_at: Date | null;
  created_at: ColumnType<Date, Date, never>;
  disabled_at: Date | null;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date, never>;
  completed_at: Date | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error_class: string | null;
  response_excerpt: string | null;
}
