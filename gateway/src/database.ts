// kysely table types of the gateway schema. Each capability adds its tables' interfaces here.
import type { ColumnType } from 'kysely';
import type {
  CardMonthsTable, CardsTable, DisputeNotesTable, DisputesTable, IdempotencyKeysTable, PaymentsTable, ProvidersTable, RefundsTable,
} from './payments/payments.table.js';
import type { SmsLanguage } from './identity/sms-texts.js';
import type { MerchantEventsTable, MerchantKeysTable, MerchantsTable } from './merchants/merchants.table.js';
import type { CheckoutSessionsTable, MerchantIdempotencyKeysTable } from './checkout/checkout.table.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './webhooks/webhooks.table.js';

export interface AuditOutboxTable {
  event_id: string;
  payload: unknown;
  created_at: ColumnType<Date, string, never>;
  published_at: ColumnType<Date | null, never, string | null>;
}

export interface ClientsTable {
  id: string;
  phone: string;
  name: string;
  birth_date: ColumnType<string, string, never>;
  password_hash: string;
  created_at: ColumnType<Date, Date, never>;
  password_changed_at: ColumnType<Date, Date, Date>;
  blocked_at: Date | null;
  blocked_reason: string | null;
  blocked_by: string | null;
  language: ColumnType<SmsLanguage, SmsLanguage | undefined, SmsLanguage>;
}

export interface OtpsTable {
  id: string;
  purpose: string;
  subject_id: string;
  phone: string;
  key_id: string;
  code_hash: Buffer;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date, never>;
  expires_at: Date;
  used_at: Date | null;
}

export interface VerificationsTable {
  id: string;
  phone: string;
  purpose: ColumnType<string, string | undefined, never>;
  created_at: ColumnType<Date, Date, never>;
  confirmed_at: Date | null;
  token_hash: Buffer | null;
  token_expires_at: Date | null;
  token_used_at: Date | null;
  language: ColumnType<SmsLanguage, SmsLanguage | undefined, never>;
}

export interface SessionsTable {
  id: string;
  client_id: string;
  token_hash: Buffer;
  created_at: ColumnType<Date, Date, never>;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginAttemptsTable {
  phone: string;
  failures: number;
  pending: number;
  pending_until: Date | null;
  locked_until: Date | null;
  updated_at: Date;
}

export interface PasswordChangesTable {
  id: string;
  client_id: string;
  session_id: string;
  new_password_hash: string;
  created_at: ColumnType<Date, Date, never>;
  expires_at: Date;
  confirmed_at: Date | null;
}

export interface GatewayDatabase {
  'gateway.audit_outbox': AuditOutboxTable;
  'gateway.clients': ClientsTable;
  'gateway.otps': OtpsTable;
  'gateway.verifications': VerificationsTable;
  'gateway.sessions': SessionsTable;
  'gateway.login_attempts': LoginAttemptsTable;
  'gateway.password_changes': PasswordChangesTable;
  'gateway.providers': ProvidersTable;
  'gateway.cards': CardsTable;
  'gateway.card_months': CardMonthsTable;
  'gateway.payments': PaymentsTable;
  'gateway.idempotency_keys': IdempotencyKeysTable;
  'gateway.disputes': DisputesTable;
  'gateway.dispute_notes': DisputeNotesTable;
  'gateway.refunds': RefundsTable;
  'gateway.merchants': MerchantsTable;
  'gateway.merchant_events': MerchantEventsTable;
  'gateway.webhook_endpoints': WebhookEndpointsTable;
  'gateway.webhook_deliveries': WebhookDeliveriesTable;
  'gateway.webhook_attempts': WebhookAttemptsTable;
  'gateway.merchant_keys': MerchantKeysTable;
  'gateway.checkout_sessions': CheckoutSessionsTable;
  'gateway.merchant_idempotency_keys': MerchantIdempotencyKeysTable;
}
