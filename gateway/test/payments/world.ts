// A payments test world: the real vault on a real mTLS listener and the gateway wired to it,
// sharing one ManualClock, plus small helpers that drive the public API like a checkout page.
import { ManualClock } from '../../../lib/clock.js';
import { randomCard } from '../../../test/support/cards.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { startTestVault, type TestVault } from '../../../test/support/vault.js';
import { lastSmsCode, loginClient, registerClient } from '../../../test/support/clients.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** ../shared/design.md sandbox cards. */
export const CARDS = {
  frictionless: '4400430000000007',
  challenge: '4400430000000015',
  notEnrolled: '4400430000000023',
  declined: '4400430000000031',
  bypassedEnrolled: '4400430000000049',
  mastercard: '5395450000000017',
  foreignVisa: '4000000000000002',
  foreignMastercard: '5555555555554444',
  unknownBin: '4111111111111111',
} as const;

/** A fresh Luhn-valid card number in the sandbox KZ Visa range (approved, frictionless). */
export function kzCard(): string {
  return randomCard('440043');
}

export interface World {
  gw: TestGateway;
  vault: TestVault;
  clock: ManualClock;
}

export async function paymentsWorld(t: Teardown, opts: { start?: string; env?: Record<string, string> } = {}): Promise<World> {
  const clock = new ManualClock(opts.start ?? '2026-11-24T10:00:00Z');
  const vault = await startTestVault(t, { clock });
  const gw = await buildTestGateway(t, {
    vault: vault.client,
    clock,
    env: { PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000', ...opts.env },
  });
  return { gw, vault, clock };
}

export interface Client {
  clientId: string;
  phone: string;
  password: string;
  token: string;
  auth: { authorization: string };
}

export async function newClient(gw: TestGateway): Promise<Client> {
  const c = await registerClient(gw);
  return { ...c, auth: { authorization: `Bearer ${c.token}` } };
}

/** A new session for `c` (sessions idle out after 15 minutes, like the payment window). */
export async function relogin(gw: TestGateway, c: Client): Promise<Client> {
  const token = await loginClient(gw, c.phone, c.password);
  return { ...c, token, auth: { authorization: `Bearer ${token}` } };
}

export function entered(number: string, extra: Partial<{ expMonth: number; expYear: number; cvv: string }> = {}) {
  return { number, expMonth: 12, expYear: 2030, cvv: '123', ...extra };
}

export function paymentBody(card: object, extra: Record<string, unknown> = {}) {
  return { providerId: 'kcell', amount: { value: 150_000, currency: 'KZT' }, params: { phone: '+77011234567' }, card, ...extra };
}

export async function create(gw: TestGateway, c: Client, body: object, headers: Record<string, string> = {}) {
  return gw.app.inject({ method: 'POST', url: '/v1/payments', headers: { ...c.auth, ...headers }, payload: body });
}

export async function confirm(gw: TestGateway, c: Client, id: string, code: string, cvv?: string) {
  return gw.app.inject({
    method: 'POST', url: `/v1/payments/${id}/confirm`, headers: c.auth, payload: { code, ...(cvv ? { cvv } : {}) },
  });
}

/** Creates and confirms a payment with the code from the SMS; returns both responses' bodies. */
export async function pay(gw: TestGateway, c: Client, card: object, extra: Record<string, unknown> = {}, cvv?: string) {
  const created = await create(gw, c, paymentBody(card, extra));
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.statusCode} ${created.body}`);
  const code = await lastSmsCode(gw, c.phone);
  const confirmed = await confirm(gw, c, created.json().id, code, cvv);
  return { created: created.json(), confirmed: confirmed.json(), status: confirmed.statusCode };
}
