// kysely table types of the payments capability (migrations 2026112420 … 2026112426).
// database.ts lists them under GatewayDatabase.
import type { ColumnType } from 'kysely';

export interface ProviderParam {
  name: string;
  label: string;
  pattern: string;
  example: string;
}

export interface ProvidersTable {
  id: string;
  name: string;
  category: 'mobile' | 'utilities' | 'internet' | 'transport';
  currency: string;
  min_amount: number;
  max_amount: number;
  params: ColumnType<ProviderParam[], string, string>;
  active: boolean;
}

export type CardStatus = 'active' | 'removed' | 'blocked';

export interface CardsTable {
  id: string;
  client_id: string;
  token: string;
  fingerprint: string;
  brand: string;
  bin6: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  status: CardStatus;
  created_at: ColumnType<Date, Date, never>;
  updated_at: Date;
}

export interface CardMonthsTable {
  client_id: string;
  month: ColumnType<Date, string, string>;
  fingerprints: string[];
}

export type PaymentStatus =
  | 'requires_confirmation' | 'processing' | 'requires_action' | 'succeeded'
  | 'declined' | 'failed' | 'expired' | 'partially_refunded' | 'refunded';

export type ThreeDsResult = 'frictionless' | 'challenged' | 'bypassed' | 'failed';

export interface PaymentsTable {
  id: string;
  client_id: string;
  provider_id: string;
  card_id: string;
  /** entered: the vault holds the CVV from tokenization; saved: charged on file, or with a CVV given at confirm. */
  card_source: 'entered' | 'saved';
  amount: number;
  currency: string;
  params: ColumnType<Record<string, string>, string, never>;
  status: PaymentStatus;
  authorization_id: string | null;
  decline_reason: string | null;
  three_ds_result: ThreeDsResult | null;
  three_ds_enrolled: boolean | null;
  challenge_ref: string | null;
  refunded_amount: ColumnType<number, number | undefined, number>;
  created_at: ColumnType<Date, Date, never>;
  updated_at: Date;
  expires_at: Date;
  /** The merchant and checkout session a payment pays (migration 2026120612); null for a client's own payment. */
  merchant_id: ColumnType<string | null, string | null, never>;
  checkout_session_id: ColumnType<string | null, string | null, never>;
}

/** An Idempotency-Key's request and stored answer; each kind of owner has its own table, so its own key space. */
export interface IdempotencyKeyColumns {
  key: string;
  request_hash: Buffer;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: ColumnType<unknown, string | null, string | null>;
  locked_at: Date;
  created_at: Date;
  expires_at: Date;
}

export interface IdempotencyKeysTable extends IdempotencyKeyColumns {
  client_id: string;
}

export type DisputeReason = 'unauthorized' | 'lost_card' | '3ds_bypassed';
export type DisputeOutcome = 'refunded' | 'upheld' | 'rejected';

export interface DisputesTable {
  id: string;
  client_id: string;
  payment_id: string;
  reason: DisputeReason;
  status: 'open' | 'resolved';
  outcome: DisputeOutcome | null;
  three_ds_result: string | null;
  three_ds_enrolled: boolean | null;
  created_at: ColumnType<Date, Date, never>;
  resolved_at: Date | null;
  resolved_by: string | null;
}

export interface DisputeNotesTable {
  id: string;
  dispute_id: string;
  author: string;
  text: string;
  created_at: ColumnType<Date, Date, never>;
}

export interface RefundsTable {
  id: string;
  payment_id: string;
  dispute_id: string | null;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
  vault_refund_id: string | null;
  requested_by: string;
  created_at: ColumnType<Date, Date, never>;
  completed_at: Date | null;
  retries: ColumnType<number, never, number>;
  retried_at: ColumnType<Date | null, never, Date>;
}
