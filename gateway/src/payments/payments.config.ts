// Payments settings (README "Settings"), read by config.ts from the same env record.
import { join } from 'node:path';
import { ConfigError, int, secretFile, type Env } from '../../../lib/config.js';
import { Secret } from '../../../lib/secret.js';

export interface PaymentsConfig {
  /** HMAC key for Idempotency-Key request hashes (the hashed body holds a PAN: PCI DSS 3.5.1.1). */
  idempotencyHmacKey: Secret<Buffer>;
  /** How often expired payments, idempotency keys and pending refunds are swept (0 = never; tests sweep by hand). */
  sweepIntervalMs: number;
}

export function loadPaymentsConfig(env: Env, data: string): PaymentsConfig {
  const raw = secretFile(env, 'IDEMPOTENCY_HMAC_KEY_FILE', data, join(data, 'keys', 'idempotency-hmac.key')).toString('utf8').trim();
  const key = Buffer.from(raw, 'base64');
  if (key.length < 32) throw new ConfigError('IDEMPOTENCY_HMAC_KEY_FILE', 'must hold at least 32 random bytes, base64');
  return {
    idempotencyHmacKey: new Secret(key),
    sweepIntervalMs: int(env, 'PAYMENTS_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
  };
}
