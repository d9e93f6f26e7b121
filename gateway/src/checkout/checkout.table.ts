// kysely table types of hosted checkout (migration 2026120612_checkout_sessions).
import type { ColumnType } from 'kysely';
import type { IdempotencyKeyColumns } from '../payments/payments.table.js';

export type CheckoutSessionStatus = 'open' | 'complete' | 'expired';

export interface CheckoutSessionsTable {
  id: string;
  merchant_id: string;
  livemode: boolean;
  provider_id: string;
  amount: number;
  currency: string;
  params: ColumnType<Record<string, string>, string, never>;
  return_url: string;
  cancel_url: string | null;
  reference: string | null;
  status: CheckoutSessionStatus;
  payment_id: string | null;
  created_at: ColumnType<Date, Date, never>;
  expires_at: Date;
  completed_at: Date | null;
  expired_at: Date | null;
}

export interface MerchantIdempotencyKeysTable extends IdempotencyKeyColumns {
  merchant_id: string;
}
