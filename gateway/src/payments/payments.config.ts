// Payments settings (README "Settings"), read by config.ts from the same env record.
import { int, type Env } from '../../../lib/config.js';

export interface PaymentsConfig {
  /** How often expired payments, idempotency keys and pending refunds are swept (0 = never; tests sweep by hand). */
  sweepIntervalMs: number;
}

export function loadPaymentsConfig(env: Env): PaymentsConfig {
  return {
    sweepIntervalMs: int(env, 'PAYMENTS_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
  };
}
