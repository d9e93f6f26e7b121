// Kysely table types of the vault schema (migrations in ../migrations). Rows never leave storage/
// and the services: routes answer with their own response schemas.
import type { ColumnType } from 'kysely';
import type { Brand } from '../card-number.js';

// A deleted card is a tombstone (migration 2026120602): card data null, deleted_at set.
export interface CardsTable {
  token: string;
  client_ref: string;
  fingerprint: string | null;
  /** The fingerprint key version (vault.fingerprint_key_versions) `fingerprint` was made with. */
  fingerprint_version: number | null;
  /** The fingerprint under the version before, during a rotation only (migration 2026120700). */
  previous_fingerprint: string | null;
  brand: Brand;
  bin6: string;
  last4: string;
  issuer_country: string;
  card_ciphertext: Buffer | null;
  dek_wrapped: Buffer | null;
  kek_version: number | null;
  created_at: Date;
  /** The stored credential's reference: set once, by the card's first approved initial authorization. */
  network_transaction_id: string | null;
  deleted_at: Date | null;
  deletion_reason: CardDeletionReason | null;
}

export type CardDeletionReason = 'client_removed' | 'never_used';

/** A card whose data is still here: the only kind that can be opened or re-wrapped. */
export type LiveCard = CardsTable & { fingerprint: string; fingerprint_version: number; card_ciphertext: Buffer; dek_wrapped: Buffer; kek_version: number; deleted_at: null };

export const isLive = (card: CardsTable): card is LiveCard => card.deleted_at === null;

export interface KekVersionsTable {
  version: number;
  registered_at: Date;
  check_value: Buffer | null;
}

export interface FingerprintKeyVersionsTable {
  version: number;
  registered_at: Date;
}

export interface AuthorizationsTable {
  id: string;
  payment_ref: string;
  token: string;
  client_ref: string;
  amount_value: number;
  currency: string;
  merchant: string;
  processor_ref: string | null;
  outcome: 'pending' | 'approved' | 'declined' | 'challenge_required';
  decline_reason: string | null;
  three_ds_enrolled: boolean;
  three_ds_result: 'frictionless' | 'challenged' | 'bypassed' | 'failed' | null;
  challenge_ref: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface RefundsTable {
  id: string;
  refund_ref: string;
  authorization_id: string;
  amount_value: number;
  currency: string;
  status: 'succeeded';
  created_at: Date;
}

export interface AuditOutboxTable {
  event_id: string;
  payload: ColumnType<unknown, string, string>;
  created_at: Date;
  published_at: Date | null;
}

export interface VaultDatabase {
  'vault.cards': CardsTable;
  'vault.kek_versions': KekVersionsTable;
  'vault.fingerprint_key_versions': FingerprintKeyVersionsTable;
  'vault.authorizations': AuthorizationsTable;
  'vault.refunds': RefundsTable;
  'vault.audit_outbox': AuditOutboxTable;
}
