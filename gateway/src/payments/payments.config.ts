// Payments settings (README "Settings"), read by config.ts from the same env record.
import { join } from 'node:path';
import { bool, ConfigError, int, secretFile, type Env } from '../../../lib/config.js';
import { Secret } from '../../../lib/secret.js';

export interface PaymentsConfig {
  /** HMAC key for Idempotency-Key request hashes (the hashed body holds a PAN: PCI DSS 3.5.1.1). */
  idempotencyHmacKey: Secret<Buffer>;
  /** How often expired payments, idempotency keys and pending refunds are swept (0 = never; tests sweep by hand). */
  sweepIntervalMs: number;
  /**
   * The vault runs the sandbox processor, whose 3-D Secure challenge the cardholder answers on the
   * gateway's own page (`/v1/3ds/challenges/{ref}`, `POST /v1/payments/{id}/3ds`). Refused in
   * production: there the issuer's ACS authenticates the cardholder, and no route of ours may.
   */
  threeDsSandboxPages: boolean;
}

export function loadPaymentsConfig(env: Env, data: string, mode: 'development' | 'test' | 'production'): PaymentsConfig {
  const raw = secretFile(env, 'IDEMPOTENCY_HMAC_KEY_FILE', data, join(data, 'keys', 'idempotency-hmac.key')).toString('utf8').trim();
  const key = Buffer.from(raw, 'base64');
  if (key.length < 32) throw new ConfigError('IDEMPOTENCY_HMAC_KEY_FILE', 'must hold at least 32 random bytes, base64');
  const threeDsSandboxPages = bool(env, 'THREE_DS_SANDBOX_PAGES', mode !== 'production');
  if (mode === 'production' && threeDsSandboxPages) {
    throw new ConfigError('THREE_DS_SANDBOX_PAGES', 'production refuses the sandbox 3-D Secure pages: the issuer\'s ACS authenticates the cardholder');
  }
  return {
    idempotencyHmacKey: new Secret(key),
    sweepIntervalMs: int(env, 'PAYMENTS_SWEEP_INTERVAL_MS', 60_000, 0, 86_400_000),
    threeDsSandboxPages,
  };
}
