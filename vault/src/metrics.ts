// The vault's operations as metrics (issue 17): how many of each, with what outcome, and how long
// they took inside the vault. The outcome is the service's answer (an authorization's
// approved/declined/challenge_required, `ok`) or its refusal code (the closed set of errors.ts);
// anything else is `internal_error`. No label can carry a token, PAN or reference.
import { Counter, Histogram, type Registry } from 'prom-client';
import { VaultError } from './errors.js';

export type VaultOperation = 'tokenize' | 'delete_token' | 'authorize' | 'refund' | 'get_challenge' | 'complete_challenge';

export interface VaultMetrics {
  /** Runs `fn` as one `operation`, counting its outcome and timing it. */
  observe<T>(operation: VaultOperation, fn: () => Promise<T>, outcomeOf?: (result: T) => string): Promise<T>;
}

export function createVaultMetrics(registry: Registry): VaultMetrics {
  const operations = new Counter({
    name: 'pgw_vault_operations_total', help: 'Vault operations by outcome (a result or the refusal code)',
    labelNames: ['operation', 'outcome'], registers: [registry],
  });
  const duration = new Histogram({
    name: 'pgw_vault_operation_duration_seconds', help: 'Time a vault operation took inside the vault',
    labelNames: ['operation'], registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  return {
    async observe(operation, fn, outcomeOf) {
      const started = performance.now();
      let outcome = 'internal_error';
      try {
        const result = await fn();
        outcome = outcomeOf?.(result) ?? 'ok';
        return result;
      } catch (err) {
        if (err instanceof VaultError) outcome = err.code;
        throw err;
      } finally {
        operations.inc({ operation, outcome });
        duration.observe({ operation }, (performance.now() - started) / 1000);
      }
    },
  };
}
