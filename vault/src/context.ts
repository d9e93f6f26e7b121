// What the vault's routes share: built once in server.ts (or a test), decorated onto Fastify.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { VaultConfig } from './config.js';

export interface VaultContext {
  config: Readonly<VaultConfig>;
  db: Kysely<any>;
  clock: Clock;
}

declare module 'fastify' {
  interface FastifyInstance {
    vaultCtx: VaultContext;
  }
}
