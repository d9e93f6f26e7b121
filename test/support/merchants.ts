// Merchants for tests, made the way staff make them: over the staff listener (mutual TLS).
import type { AdminClient } from './admin.js';

export interface TestMerchant {
  id: string;
  name: string;
  providerId: string;
  returnOrigins: string[];
  /** A test-mode secret key of the merchant. */
  secret: string;
  keyId: string;
}

export async function createTestMerchant(
  admin: AdminClient,
  opts: { name?: string; providerId?: string; returnOrigins?: string[]; mode?: 'test' | 'live' } = {},
): Promise<TestMerchant> {
  const created = await admin.call('POST', '/v1/merchants', {
    name: opts.name ?? 'Kcell Shop', providerId: opts.providerId ?? 'kcell', returnOrigins: opts.returnOrigins ?? ['https://shop.example'],
  });
  if (created.status !== 201) throw new Error(`merchant not created: ${created.status} ${created.text}`);
  const m = created.json();
  const key = await createTestKey(admin, m.id, opts.mode ?? 'test');
  return { ...m, secret: key.secret, keyId: key.id };
}

export async function createTestKey(admin: AdminClient, merchantId: string, mode: 'test' | 'live' = 'test', expiresAt?: string): Promise<{ id: string; secret: string }> {
  const res = await admin.call('POST', `/v1/merchants/${merchantId}/keys`, { mode, ...(expiresAt ? { expiresAt } : {}) });
  if (res.status !== 201) throw new Error(`key not created: ${res.status} ${res.text}`);
  return res.json();
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
