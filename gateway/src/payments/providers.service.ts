// SP-14: a payment names a provider, an amount in the provider's range and currency, and exactly
// the parameters the provider's schema declares, each matching its pattern.
import type { Kysely } from 'kysely';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { findProvider, listProviders } from './providers.repository.js';
import type { ProviderParam } from './payments.table.js';

export interface Provider {
  id: string;
  name: string;
  category: string;
  currency: string;
  minAmount: number;
  maxAmount: number;
  params: ProviderParam[];
}

function toProvider(row: Awaited<ReturnType<typeof listProviders>>[number]): Provider {
  return {
    id: row.id,
    name: row.name,
    category: row.category,
    currency: row.currency,
    minAmount: row.min_amount,
    maxAmount: row.max_amount,
    params: row.params,
  };
}

// The catalog changes only by migration; each database handle caches it for a minute.
const caches = new WeakMap<object, { at: number; providers: Map<string, Provider> }>();
const CACHE_MS = 60_000;

async function catalog(db: Kysely<GatewayDatabase>): Promise<Map<string, Provider>> {
  let cache = caches.get(db);
  if (!cache || Date.now() - cache.at > CACHE_MS) {
    const rows = await listProviders(db);
    cache = { at: Date.now(), providers: new Map(rows.map((r) => [r.id, toProvider(r)])) };
    caches.set(db, cache);
  }
  return cache.providers;
}

export async function providers(db: Kysely<GatewayDatabase>): Promise<Provider[]> {
  return [...(await catalog(db)).values()];
}

export async function providerById(db: Kysely<GatewayDatabase>, id: string): Promise<Provider | undefined> {
  const cached = (await catalog(db)).get(id);
  if (cached) return cached;
  const row = await findProvider(db, id);
  return row ? toProvider(row) : undefined;
}

/** Checks a payment's provider, amount and parameters; throws the first problem found. */
export async function validatePaymentTarget(
  db: Kysely<GatewayDatabase>,
  input: { providerId: string; amount: { value: number; currency: string }; params: Record<string, unknown> },
): Promise<Provider> {
  const provider = await providerById(db, input.providerId);
  if (!provider) throw new DomainError('provider_unknown', `no service provider ${JSON.stringify(input.providerId.slice(0, 40))}`);
  const { value, currency } = input.amount;
  if (currency !== provider.currency) {
    throw new DomainError('currency_not_supported', `${provider.name} accepts ${provider.currency} only`);
  }
  if (!Number.isSafeInteger(value) || value < provider.minAmount || value > provider.maxAmount) {
    throw new DomainError('amount_out_of_range', `amount must be an integer number of minor units between ${provider.minAmount} and ${provider.maxAmount}`);
  }
  const declared = new Set(provider.params.map((p) => p.name));
  for (const name of Object.keys(input.params)) {
    if (!declared.has(name)) throw new DomainError('provider_params_invalid', `${provider.name} takes no parameter ${JSON.stringify(name.slice(0, 40))}`);
  }
  for (const param of provider.params) {
    const given = input.params[param.name];
    if (given === undefined) throw new DomainError('provider_params_invalid', `missing parameter ${param.name} (${param.label})`);
    if (typeof given !== 'string' || !new RegExp(param.pattern).test(given)) {
      throw new DomainError('provider_params_invalid', `parameter ${param.name} must look like ${param.example}`);
    }
  }
  return provider;
}
