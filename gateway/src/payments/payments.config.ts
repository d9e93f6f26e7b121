// Payments settings (README "Settings"), read by config.ts from the same env record.
import { bool, ConfigError, int, type Env } from '../../../lib/config.js';

export interface PaymentsConfig {
  /** How often expired payments, idempotency keys and pending refunds are swept (0 = never; tests sweep by hand). */
  sweepIntervalMs: number;
  /**
   * The vault runs the sandbox processor, whose 3-D Secure challenge the cardholder answers on the
   * gateway's own page (`/v1/3ds/challenges/{ref}`, `POST /v1/payments/{id}/3ds`). Refused in
   * production: there the issuer's ACS authenticates the cardholder, and no route of ours may.
   */
  threeDsSandboxPages: boolean;
}

export function loadPaymentsConfig(env: Env, mode: 'development' | 'test' | 'production'): PaymentsConfig {
  const threeDsSandboxPages = bool(env, 'THREE_DS_SANDBOX_PAGES', mode !== 'production');
  if (mode === 'production' && threeDsSandboxPages) {
    throw new ConfigError('THREE_DS_SANDBOX_PAGES', 'production refuses the sandbox 3-D Secure pages: the issuer\'s ACS authenticates the cardholder');
  }
  return {
    sweepIntervalMs: int(env, 'PAYMENTS_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
    threeDsSandboxPages,
  };
}
