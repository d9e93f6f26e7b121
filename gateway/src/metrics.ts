// The gateway's business metrics (issue 17): payments by outcome, one-time codes sent and checked,
// login lockouts (SP-11), the vault's latency as the gateway sees it, webhook attempts. Services
// call this small interface where they decide an outcome; prom-client stays here. Every label
// value comes from a closed vocabulary below (anything else is `other`), so no phone, token, PAN,
// code or merchant value can become a series.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { VaultCallObserver, VaultOperation } from '../../lib/vault-client.js';
import type { OtpCheck, OtpPurpose } from './identity/otp.service.js';
import type { PaymentStatus } from './payments/payments.table.js';

/** The statuses a payment is counted in: where a decision left it. */
export type PaymentOutcome = Extract<PaymentStatus, 'succeeded' | 'declined' | 'failed' | 'requires_action' | 'expired'>;
export type OtpCheckResult = 'ok' | Extract<OtpCheck, { ok: false }>['reason'];

// The processor's decline reasons and the vault's refusal codes a settled payment can carry.
const PAYMENT_REASONS = new Set([
  'insufficient_funds', 'authentication_failed', 'card_expired', 'cvv_invalid', 'cvv_missing', 'stored_credential_unknown',
  'do_not_honor', 'card_invalid', 'card_not_kz', 'card_deleted', 'token_unknown', 'idempotency_conflict', 'processor_unavailable',
]);

export interface GatewayMetrics {
  /** A payment moved to `outcome`; `reason` is a decline reason or vault code, kept only if known. */
  payment(outcome: PaymentOutcome, reason?: string | null): void;
  otpSms(purpose: OtpPurpose, result: 'sent' | 'failed'): void;
  otpCheck(purpose: OtpPurpose, result: OtpCheckResult): void;
  /** A wrong password locked a phone's login for 15 minutes (SP-11). */
  loginLocked(): void;
  webhookAttempt(outcome: 'succeeded' | 'retrying' | 'failed'): void;
  /** Handed to the vault client (lib/vault-client.ts): one observation per call. */
  vaultCall: VaultCallObserver;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const payments = new Counter({
    name: 'pgw_payments_total', help: 'Payments by the status a decision moved them to, and the decline or failure reason',
    labelNames: ['outcome', 'reason'], registers: [registry],
  });
  const sms = new Counter({
    name: 'pgw_otp_sms_total', help: 'One-time code SMS handed to the provider (sent) or refused by it (failed), by purpose',
    labelNames: ['purpose', 'result'], registers: [registry],
  });
  const checks = new Counter({
    name: 'pgw_otp_checks_total', help: 'One-time codes checked, by purpose and result',
    labelNames: ['purpose', 'result'], registers: [registry],
  });
  const lockouts = new Counter({ name: 'pgw_login_lockouts_total', help: 'Logins locked after too many wrong passwords (SP-11)', registers: [registry] });
  const webhooks = new Counter({
    name: 'pgw_webhook_attempts_total', help: 'Webhook delivery attempts by outcome (failed: the last attempt failed)',
    labelNames: ['outcome'], registers: [registry],
  });
  const vault = new Histogram({
    name: 'pgw_vault_client_duration_seconds', help: 'The vault\'s answer time as the gateway sees it, by operation and outcome',
    labelNames: ['operation', 'outcome'], registers: [registry],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  return {
    payment(outcome, reason) {
      payments.inc({ outcome, reason: !reason ? 'none' : PAYMENT_REASONS.has(reason) ? reason : 'other' });
    },
    otpSms: (purpose, result) => sms.inc({ purpose, result }),
    otpCheck: (purpose, result) => checks.inc({ purpose, result }),
    loginLocked: () => lockouts.inc(),
    webhookAttempt: (outcome) => webhooks.inc({ outcome }),
    vaultCall: (operation: VaultOperation, outcome, seconds) => vault.observe({ operation, outcome }, seconds),
  };
}
