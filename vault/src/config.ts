// Vault settings, read once at boot (README "Settings"). The vault binds to a private address
// only and accepts only allow-listed client certificates from the internal CA (SP-4).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bool, ConfigError, file, freeze, int, list, oneOf, port, secretFile, str, url, type Env } from '../../lib/config.js';
import { dataDir, repoRoot } from '../../lib/paths.js';
import { isDevelopmentCa } from '../../lib/pki.js';
import { Secret } from '../../lib/secret.js';
import { BRANDS, type Brand } from './card-number.js';

export interface VaultConfig {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  listener: { host: string; port: number; cert: Buffer; key: Buffer; ca: Buffer; allowedIdentities: string[] };
  databaseUrl: string;
  migrateOnStart: boolean;
  redisUrl: string;
  auditQueue: string;
  /** KEK file read by the file KeyProvider (development; a KMS/HSM provider replaces it). */
  kekFile: string;
  fingerprintKey: Secret<Buffer>;
  binTableFile: string;
  cardBrands: Brand[];
  /** The acquirer adapter; `sandbox` only outside production (an acquirer's adapter joins the list). */
  processor: 'sandbox';
  cvvMaxHeld: number;
  rewrapBatchSize: number;
}

function fingerprintKey(env: Env, data: string): Secret<Buffer> {
  const raw = secretFile(env, 'VAULT_FINGERPRINT_KEY_FILE', data, join(data, 'keys', 'vault-fingerprint.key'));
  const key = Buffer.from(raw.toString('utf8').trim(), 'base64');
  raw.fill(0);
  if (key.length < 32) throw new ConfigError('VAULT_FINGERPRINT_KEY_FILE', 'must hold at least 32 random bytes, base64');
  return new Secret(key);
}

function cardBrands(env: Env): Brand[] {
  const brands = list(env, 'VAULT_CARD_BRANDS', 'visa,mastercard');
  for (const b of brands) {
    if (!(BRANDS as readonly string[]).includes(b)) throw new ConfigError('VAULT_CARD_BRANDS', `unknown brand "${b}" (known: ${BRANDS.join(', ')})`);
  }
  return brands as Brand[];
}

function assertPrivateHost(host: string): void {
  if (host === '0.0.0.0' || host === '::' || host === '') {
    throw new ConfigError('VAULT_HOST', 'must be a private address, not every interface');
  }
}

export function loadVaultConfig(env: Env): Readonly<VaultConfig> {
  const data = dataDir(env);
  const pki = join(data, 'pki');
  const read = (name: string, fallback: string) => readFileSync(file(env, name, data, fallback));
  const mode = oneOf(env, 'NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const host = str(env, 'VAULT_HOST', '127.0.0.1');
  assertPrivateHost(host);
  const config: VaultConfig = {
    env: mode,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir: data,
    listener: {
      host,
      port: port(env, 'VAULT_PORT', 8444),
      cert: read('VAULT_TLS_CERT_FILE', join(pki, 'vault.crt')),
      key: read('VAULT_TLS_KEY_FILE', join(pki, 'vault.key')),
      ca: read('INTERNAL_CA_FILE', join(pki, 'ca.crt')),
      allowedIdentities: list(env, 'VAULT_ALLOWED_IDENTITIES', 'gateway'),
    },
    databaseUrl: url(env, 'VAULT_DATABASE_URL', ['postgres:', 'postgresql:'], env.DATABASE_URL).toString(),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', mode !== 'production'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379').toString(),
    auditQueue: str(env, 'AUDIT_QUEUE', 'audit-events'),
    kekFile: file(env, 'VAULT_KEK_FILE', data, join(data, 'keys', 'vault-kek.json')),
    fingerprintKey: fingerprintKey(env, data),
    binTableFile: file(env, 'VAULT_BIN_TABLE_FILE', repoRoot, join(repoRoot, 'vault', 'data', 'bin-ranges.csv')),
    cardBrands: cardBrands(env),
    processor: oneOf(env, 'VAULT_PROCESSOR', ['sandbox'] as const, 'sandbox'),
    cvvMaxHeld: int(env, 'VAULT_CVV_MAX_HELD', 100_000, 1, 10_000_000),
    rewrapBatchSize: int(env, 'VAULT_REWRAP_BATCH_SIZE', 500, 1, 10_000),
  };
  if (mode === 'production' && isDevelopmentCa(config.listener.ca)) {
    throw new ConfigError('INTERNAL_CA_FILE', 'production refuses the generated development CA');
  }
  // The sandbox approves every Kazakhstan card with no acquirer behind it and lets the cardholder
  // answer their own 3-D Secure challenge: a development stand-in, never a way to take payments.
  if (mode === 'production' && config.processor === 'sandbox') {
    throw new ConfigError('VAULT_PROCESSOR', 'production refuses the sandbox processor; it needs an acquirer adapter (vault/README.md "Processor adapter contract")');
  }
  return freeze(config);
}
