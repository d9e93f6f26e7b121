// kysely table types of the merchant capability (migration 2026120610_merchants).
import type { ColumnType } from 'kysely';

export interface MerchantsTable {
  id: string;
  name: string;
  provider_id: string;
  return_origins: string[];
  created_at: ColumnType<Date, Date, never>;
  created_by: string;
}

export interface MerchantEventsTable {
  id: string;
  merchant_id: string;
  livemode: boolean;
  type: string;
  data: ColumnType<unknown, string, never>;
  created_at: ColumnType<Date, Date, never>;
  dispatched_at: Date | null;
}

export interface MerchantKeysTable {
  id: string;
  merchant_id: string;
  livemode: boolean;
  secret_hash: Buffer;
  last4: string;
  created_at: ColumnType<Date, Date, never>;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}
