// Vault settings, read once at boot (README "Settings"). The vault binds to a private address
// only and accepts only allow-listed client certificates from the internal CA (SP-4).
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import { bool, bullmqPrefix, ConfigError, file, freeze, int, list, metricsListener, oneOf, port, revocationList, secretFile, str, uriList, url, type Env } from '../../lib/config.js';
import { dataDir, repoRoot } from '../../lib/paths.js';
import { GATEWAY_SERVICE_IDENTITY, isDevelopmentCa } from '../../lib/pki.js';
import { Secret } from '../../lib/secret.js';
import { BRANDS, type Brand } from './card-number.js';
import type { Pkcs11Settings } from './crypto/pkcs11-key-provider.js';
import type { FingerprintKeyRing } from './crypto/fingerprint.js';
import { FingerprintKeyFileError, readFingerprintKeyFile } from './crypto/fingerprint-key-file.js';

export interface VaultConfig {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  dataDir: string;
  listener: {
    host: string; port: number; cert: Buffer; key: Buffer; ca: Buffer; crl: Buffer | undefined;
    /** Service identities (certificate URIs) allowed to call; see lib/mtls.ts. */
    allowedIdentities: string[];
  };
  /** Prometheus scrape listener (plain HTTP, private address). */
  metrics: { host: string; port: number } | undefined;
  databaseUrl: string;
  migrateOnStart: boolean;
  redisUrl: string;
  auditQueue: string;
  /** BULLMQ_PREFIX (lib/config.ts bullmqPrefix). */
  bullmqPrefix: string;
  /** KEK file read by the file KeyProvider (development; the PKCS#11 provider replaces it). */
  kekFile: string;
  /** Where the KEKs are: the development key file, or a PKCS#11 token (an HSM). */
  keyProvider: { kind: 'file' } | ({ kind: 'pkcs11' } & Pkcs11Settings);
  /** The fingerprint key ring (crypto/fingerprint-key-file.ts); two versions only during a rotation. */
  fingerprintKeys: FingerprintKeyRing;
  /** Where the ring was read from; `npm run vault:rotate-fingerprint-key` rewrites it. */
  fingerprintKeyFile: string;
  binTableFile: string;
  cardBrands: Brand[];
  /** The acquirer adapter; `sandbox` only outside production (an acquirer's adapter joins the list). */
  processor: 'sandbox';
  cvvMaxHeld: number;
  rewrapBatchSize: number;
  /** Card data retention sweep (retention.ts); 0 runs none (another vault instance sweeps). */
  retentionSweepIntervalMs: number;
}

function fingerprintKeys(env: Env, data: string): Pick<VaultConfig, 'fingerprintKeys' | 'fingerprintKeyFile'> {
  const path = file(env, 'VAULT_FINGERPRINT_KEY_FILE', data, join(data, 'keys', 'vault-fingerprint.key'));
  try {
    return { fingerprintKeys: readFingerprintKeyFile(path), fingerprintKeyFile: path };
  } catch (err) {
    if (err instanceof FingerprintKeyFileError) throw new ConfigError('VAULT_FINGERPRINT_KEY_FILE', err.message);
    throw err;
  }
}

const DEFAULT_PKCS11_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

function keyProvider(env: Env, data: string): VaultConfig['keyProvider'] {
  const kind = oneOf(env, 'VAULT_KEY_PROVIDER', ['file', 'pkcs11'] as const, 'file');
  if (kind === 'file') return { kind };
  const tokenLabel = str(env, 'VAULT_PKCS11_TOKEN_LABEL', '');
  if (!tokenLabel) throw new ConfigError('VAULT_PKCS11_TOKEN_LABEL', 'is required with VAULT_KEY_PROVIDER=pkcs11');
  if (!env.VAULT_PKCS11_PIN_FILE) throw new ConfigError('VAULT_PKCS11_PIN_FILE', 'is required with VAULT_KEY_PROVIDER=pkcs11');
  const pin = secretFile(env, 'VAULT_PKCS11_PIN_FILE', data);
  if (pin.toString('utf8').trim().length < 4) throw new ConfigError('VAULT_PKCS11_PIN_FILE', 'must hold the token user PIN');
  return {
    kind,
    library: file(env, 'VAULT_PKCS11_LIBRARY', data, DEFAULT_PKCS11_LIBRARY),
    tokenLabel,
    pin: new Secret(pin),
    keyLabel: str(env, 'VAULT_PKCS11_KEY_LABEL', 'vault-kek'),
  };
}

function cardBrands(env: Env): Brand[] {
  const brands = list(env, 'VAULT_CARD_BRANDS', 'visa,mastercard');
  for (const b of brands) {
    if (!(BRANDS as readonly string[]).includes(b)) throw new ConfigError('VAULT_CARD_BRANDS', `unknown brand "${b}" (known: ${BRANDS.join(', ')})`);
  }
  return brands as Brand[];
}

// Loopback and the private ranges (RFC 1918, RFC 4193): card data is never one routing mistake
// away from the Internet. IPv4-mapped IPv6 addresses are matched against the IPv4 ranges.
const PRIVATE_RANGES = new BlockList();
PRIVATE_RANGES.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE_RANGES.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE_RANGES.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE_RANGES.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE_RANGES.addAddress('::1', 'ipv6');
PRIVATE_RANGES.addSubnet('fc00::', 7, 'ipv6');

function assertPrivateHost(host: string): void {
  if (host === '0.0.0.0' || host === '::' || host === '') {
    throw new ConfigError('VAULT_HOST', 'must be a private address, not every interface');
  }
  if (host === 'localhost') return;
  const family = isIP(host);
  if (family === 0) throw new ConfigError('VAULT_HOST', `must be an IP address (got "${host}")`);
  if (!PRIVATE_RANGES.check(host, family === 4 ? 'ipv4' : 'ipv6')) {
    throw new ConfigError('VAULT_HOST', `must be a loopback or private address (got "${host}")`);
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
      crl: revocationList(env, 'INTERNAL_CRL_FILE', data),
      allowedIdentities: uriList(env, 'VAULT_ALLOWED_IDENTITIES', GATEWAY_SERVICE_IDENTITY),
    },
    metrics: metricsListener(env),
    databaseUrl: url(env, 'VAULT_DATABASE_URL', ['postgres:', 'postgresql:'], env.DATABASE_URL).toString(),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', mode !== 'production'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379').toString(),
    auditQueue: str(env, 'AUDIT_QUEUE', 'audit-events'),
    bullmqPrefix: bullmqPrefix(env),
    kekFile: file(env, 'VAULT_KEK_FILE', data, join(data, 'keys', 'vault-kek.json')),
    keyProvider: keyProvider(env, data),
    ...fingerprintKeys(env, data),
    binTableFile: file(env, 'VAULT_BIN_TABLE_FILE', repoRoot, join(repoRoot, 'vault', 'data', 'bin-ranges.csv')),
    cardBrands: cardBrands(env),
    processor: oneOf(env, 'VAULT_PROCESSOR', ['sandbox'] as const, 'sandbox'),
    cvvMaxHeld: int(env, 'VAULT_CVV_MAX_HELD', 100_000, 1, 10_000_000),
    rewrapBatchSize: int(env, 'VAULT_REWRAP_BATCH_SIZE', 500, 1, 10_000),
    retentionSweepIntervalMs: int(env, 'VAULT_RETENTION_SWEEP_INTERVAL_MS', 3_600_000, 0, 86_400_000),
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
