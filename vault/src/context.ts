// What the vault's routes share: built once in server.ts (or a test), decorated onto Fastify.
// A missing or malformed KEK file, fingerprint key or BIN table throws here, so the vault never
// starts without its keys (fail closed).
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { VaultConfig } from './config.js';
import { FileKeyProvider, type KeyProvider, type ManagedKeyProvider } from './crypto/key-provider.js';
import { Pkcs11KeyProvider } from './crypto/pkcs11-key-provider.js';
import { fingerprinter, type Fingerprinter } from './crypto/fingerprint.js';
import { RegisteredKeyProvider } from './kek-versions.js';
import { loadBinTable, type BinTable } from './bin-table.js';
import type { Brand } from './card-number.js';
import { CvvStore } from './cvv-store.js';
import type { Processor } from './processor/processor.js';
import { sandboxProcessor } from './processor/sandbox.js';
import type { VaultDatabase } from './storage/database.js';
import { insertCardsWithAudit, type NewCard } from './storage/cards.repository.js';
import { groupCommit } from './storage/group-commit.js';
import type { VaultMetrics } from './metrics.js';

export interface VaultContext {
  config: Readonly<VaultConfig>;
  db: Kysely<VaultDatabase>;
  clock: Clock;
  keys: KeyProvider;
  fingerprint: Fingerprinter;
  bins: BinTable;
  brands: ReadonlySet<Brand>;
  cvv: CvvStore;
  processor: Processor;
  /** Stores a tokenized card with its audit event; concurrent calls share one statement. */
  storeCard: (card: NewCard) => Promise<void>;
  /** Each operation's outcome and time (vault/src/metrics.ts). */
  metrics: VaultMetrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    vaultCtx: VaultContext;
  }
}

// One batch in flight: cards arriving while it commits all join the next one. On 2 shared cores
// that beat two in flight (bench:vault, same runs: 2,200–2,400 tokenize/s against 1,600–1,900,
// vault CPU 0.27–0.32 ms against 0.36–0.39 ms a card): fewer, fuller statements cost the vault
// and PostgreSQL less than overlapping commits save. 500 rows keep a statement's parameters small.
const CARD_GROUP_COMMIT = { maxInFlight: 1, maxBatch: 500 };

/** The configured KEK store: fails closed (ConfigError naming the setting, or KeyError) when it cannot be used. */
export function createKeyProvider(config: Readonly<VaultConfig>, opts: { allowEmpty?: boolean } = {}): ManagedKeyProvider {
  const { keyProvider } = config;
  return keyProvider.kind === 'pkcs11' ? new Pkcs11KeyProvider(keyProvider, opts) : new FileKeyProvider(config.kekFile);
}

/** The production wiring of a context from validated config; tests may swap single parts. */
export function createVaultContext(config: Readonly<VaultConfig>, db: Kysely<VaultDatabase>, clock: Clock, metrics: VaultMetrics): VaultContext {
  return {
    config,
    db,
    clock,
    keys: new RegisteredKeyProvider(createKeyProvider(config), db, clock),
    fingerprint: fingerprinter(config.fingerprintKeys),
    bins: loadBinTable(config.binTableFile),
    brands: new Set(config.cardBrands),
    cvv: new CvvStore(clock, config.cvvMaxHeld),
    processor: sandboxProcessor(config.fingerprintKeys),
    storeCard: groupCommit((cards: NewCard[]) => insertCardsWithAudit(db, cards), CARD_GROUP_COMMIT),
    metrics,
  };
}
