// SP-18, SP-20: a refund whose vault call met an outage stays pending, its amount reserved, and the
// payments sweep completes it once the vault is back: once, however many sweepers run. The outage
// is real: the vault is stopped and started again on the same port, and the gateway's own vault
// client (which outlives it) gets connection refused in between.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ManualClock, MINUTE } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/logger.js';
import { createVaultClient } from '../../../lib/vault-client.js';
import { retryPendingRefunds } from '../../src/payments/refund-retry.js';
import { listenAdmin, type AdminClient } from '../../../test/support/admin.js';
import { auditEvents } from '../../../test/support/clients.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { pkiFile } from '../../../test/support/pki.js';
import { startTestVault, type TestVault } from '../../../test/support/vault.js';
import { CARDS, entered, newClient, pay, type Client } from './world.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const GRACE = MINUTE;

interface OutageWorld {
  gw: TestGateway;
  clock: ManualClock;
  admin: AdminClient;
  /** The gateway's warnings, one JSON line each. */
  logs: string[];
  vault(): TestVault;
  down(): Promise<void>;
  up(): Promise<void>;
  /** One manual sweep's refund retries, at the clock's time. */
  sweep(): ReturnType<typeof retryPendingRefunds>;
}

async function outageWorld(t: Teardown, env: Record<string, string> = {}): Promise<OutageWorld> {
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  let vault = await startTestVault(t, { clock });
  const url = new URL(vault.url);
  const client = createVaultClient({
    url, ca: pkiFile('ca.crt'), cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key'), timeoutMs: 5_000, connections: 4,
  });
  t.teardown(() => client.close());
  const gw = await buildTestGateway(t, {
    vault: client,
    clock,
    env: { PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000', ...env },
  });
  const admin = await listenAdmin(t, gw.ctx);
  const logs: string[] = [];
  const log = createLogger('gateway', 'warn', { write: (line: string) => void logs.push(line) });
  return {
    gw, clock, admin, logs,
    vault: () => vault,
    down: () => vault.stop(),
    up: async () => {
      vault = await startTestVault(t, { clock, databaseUrl: vault.databaseUrl, env: vault.env, port: Number(url.port) });
    },
    sweep: () => retryPendingRefunds(gw.ctx, clock.now(), log, { graceMs: GRACE }),
  };
}

const w = await outageWorld(t);

async function refundRow(id: string) {
  return w.gw.db.selectFrom('gateway.refunds').select(['status', 'retries']).where('id', '=', id).executeTakeFirstOrThrow();
}

async function paymentState(id: string) {
  const p = await w.gw.db.selectFrom('gateway.payments').select(['status', 'refunded_amount']).where('id', '=', id).executeTakeFirstOrThrow();
  return [p.status, p.refunded_amount];
}

/** The amounts of the vault's refunds made for this gateway refund id. */
async function vaultRefunds(refundId: string) {
  const rows = await w.vault().db.selectFrom('vault.refunds').select('amount_value').where('refund_ref', '=', refundId).execute();
  return rows.map((r) => r.amount_value);
}

async function refundEvents(refundId: string) {
  const events = (await auditEvents(w.gw)).filter((e) => e.targets.refundId === refundId);
  return events.map((e) => `${e.action} by ${e.actor.type}:${e.actor.id}`).sort();
}

async function staffRefund(paymentId: string, value?: number) {
  return w.admin.call('POST', `/v1/payments/${paymentId}/refunds`, value === undefined ? {} : { amount: { value, currency: 'KZT' } });
}

function only<T extends { id: string }>(results: T[], ids: string[]): T[] {
  return results.filter((r) => ids.includes(r.id));
}

t.test('SP-20: a staff refund the vault could not take stays pending with its amount reserved, and the sweep completes it once', async (t) => {
  const c = await newClient(w.gw);
  const paid = await pay(w.gw, c, entered(CARDS.frictionless));
  const id = paid.created.id;
  await w.down();
  const res = await staffRefund(id, 100_000);
  t.equal(res.status, 201, 'accepted as pending, not a 503 that invites refunding it again');
  const refund = res.json();
  t.match(refund, { status: 'pending', amount: { value: 100_000, currency: 'KZT' } });
  t.same(await paymentState(id), ['succeeded', 0]);
  t.equal((await staffRefund(id, 60_000)).json().code, 'refund_not_allowed', 'the pending 100 000 stays reserved: 50 000 is left');

  w.clock.advance(GRACE);
  t.match(only(await w.sweep(), [refund.id]), [{ status: 'pending' }], 'retried while the vault is still down');
  t.same(await refundRow(refund.id), { status: 'pending', retries: 1 });
  const listed = async (status: string) => ((await w.admin.call('GET', `/v1/refunds?status=${status}`)).json().data as Array<{ id: string }>)
    .filter((r) => r.id === refund.id);
  t.same(await listed('pending'), [{
    id: refund.id, paymentId: id, disputeId: null, amount: { value: 100_000, currency: 'KZT' }, status: 'pending',
    requestedBy: 'admin', createdAt: '2026-11-24T10:00:00.000Z', completedAt: null, retries: 1, lastRetriedAt: '2026-11-24T10:01:00.000Z',
  }], 'staff see it pending, retried once, and when');
  t.same(await listed('succeeded'), []);
  t.equal((await w.admin.call('GET', '/v1/refunds?status=lost')).json().code, 'validation_failed', 'an unknown status is refused');
  const warnings = w.logs.filter((l) => l.includes(refund.id));
  t.equal(warnings.length, 1, 'one warning per failed attempt');
  t.match(JSON.parse(warnings[0]!), { level: 40, refundId: refund.id, refundRetries: 1, err: { message: /vault unavailable: ECONNREFUSED/ } });
  t.notOk(w.logs.join('\n').includes(CARDS.frictionless.slice(6)), 'no card number in the logs');

  await w.up();
  t.same(only(await w.sweep(), [refund.id]), [], 'the next attempt waits a grace period after the last one');
  w.clock.advance(GRACE);
  t.match(only(await w.sweep(), [refund.id]), [{ status: 'succeeded', amount: { value: 100_000 } }]);
  t.same(await refundRow(refund.id), { status: 'succeeded', retries: 2 });
  t.same(await listed('pending'), [], 'no longer pending');
  t.match(await listed('succeeded'), [{ status: 'succeeded', retries: 2, completedAt: '2026-11-24T10:02:00.000Z' }]);
  t.same(await paymentState(id), ['partially_refunded', 100_000]);
  t.same(await vaultRefunds(refund.id), [100_000], 'the vault moved the money back once');
  t.same(await refundEvents(refund.id), ['refund.requested by staff:admin', 'refund.succeeded by system:refund-retry']);
  t.same(only(await w.sweep(), [refund.id]), [], 'a completed refund is not retried again');

  t.match((await staffRefund(id)).json(), { status: 'succeeded', amount: { value: 50_000 } }, 'what is left can still be refunded');
  t.same(await paymentState(id), ['refunded', 150_000]);
});

t.test('SP-18: an automatic dispute refund that met a vault outage completes on the next sweep and closes the dispute as refunded', async (t) => {
  const c: Client = await newClient(w.gw);
  const paid = await pay(w.gw, c, entered(CARDS.bypassedEnrolled));
  await w.down();
  const res = await w.gw.app.inject({ method: 'POST', url: '/v1/disputes', headers: c.auth, payload: { paymentId: paid.created.id, reason: '3ds_bypassed' } });
  t.equal(res.statusCode, 201, 'the dispute is recorded although the vault is down');
  const d = res.json();
  t.match(d, { status: 'open', outcome: null, refund: { status: 'pending', amount: { value: 150_000 } } });

  await w.up();
  w.clock.advance(GRACE);
  t.match(only(await w.sweep(), [d.refund.id]), [{ status: 'succeeded' }]);
  const after = (await w.admin.call('GET', `/v1/disputes/${d.id}`)).json();
  t.match(after, { status: 'resolved', outcome: 'refunded', resolvedBy: 'sp18-auto-refund' });
  t.match(after.refunds, [{ id: d.refund.id, status: 'succeeded', disputeId: d.id }]);
  t.match(after.notes, [{ author: 'sp18-auto-refund', text: /^SP-18/ }]);
  t.same(await paymentState(paid.created.id), ['refunded', 150_000]);
  t.same(await vaultRefunds(d.refund.id), [150_000]);
  t.same(await refundEvents(d.refund.id), ['refund.requested by system:sp18-auto-refund', 'refund.succeeded by system:refund-retry']);
  const resolved = (await auditEvents(w.gw, 'dispute.resolved')).filter((e) => e.targets.disputeId === d.id);
  t.same(resolved.map((e) => [e.actor.type, e.actor.id, e.details?.outcome]), [['system', 'sp18-auto-refund', 'refunded']]);
});

t.test('SP-20: two sweeps at once complete each pending refund once, with one vault refund and one refund.succeeded each', async (t) => {
  const c = await newClient(w.gw);
  const payments: string[] = [];
  for (let i = 0; i < 3; i++) payments.push((await pay(w.gw, c, entered(CARDS.frictionless))).created.id);
  await w.down();
  const ids: string[] = [];
  for (const id of payments) ids.push((await staffRefund(id)).json().id);
  await w.up();
  w.clock.advance(GRACE);

  const [a, b] = await Promise.all([w.sweep(), w.sweep()]);
  const taken = [...only(a, ids), ...only(b, ids)];
  t.same(taken.map((r) => r.id).sort(), [...ids].sort(), 'each refund was taken by one sweep only');
  t.same(taken.map((r) => r.status), Array(3).fill('succeeded'));
  for (const [i, id] of ids.entries()) {
    t.same(await refundRow(id), { status: 'succeeded', retries: 1 });
    t.same(await vaultRefunds(id), [150_000]);
    t.same(await refundEvents(id), ['refund.requested by staff:admin', 'refund.succeeded by system:refund-retry']);
    t.same(await paymentState(payments[i]!), ['refunded', 150_000]);
  }
});

t.test('SP-20: within the grace period a pending refund is not retried (its own request may still be waiting for the vault)', async (t) => {
  const c = await newClient(w.gw);
  const paid = await pay(w.gw, c, entered(CARDS.frictionless));
  await w.down();
  const refund = (await staffRefund(paid.created.id)).json();
  await w.up();
  t.same(only(await w.sweep(), [refund.id]), [], 'just requested');
  w.clock.advance(GRACE - 1);
  t.same(only(await w.sweep(), [refund.id]), [], 'a millisecond before the grace period ends');
  t.same(await refundRow(refund.id), { status: 'pending', retries: 0 });
  t.same(await vaultRefunds(refund.id), [], 'the vault was not asked');
  w.clock.advance(1);
  t.match(only(await w.sweep(), [refund.id]), [{ status: 'succeeded' }], 'due once the grace period has passed');
});

t.test('SP-20: a running gateway\'s payments sweeper retries pending refunds by itself', async (t) => {
  const running = await outageWorld(t, { PAYMENTS_SWEEP_INTERVAL_MS: '20' });
  const c = await newClient(running.gw);
  const paid = await pay(running.gw, c, entered(CARDS.frictionless));
  await running.down();
  const refund = (await running.admin.call('POST', `/v1/payments/${paid.created.id}/refunds`, {})).json();
  t.equal(refund.status, 'pending');
  await running.up();
  running.clock.advance(GRACE);
  const status = async () => (await running.gw.db.selectFrom('gateway.refunds').select('status').where('id', '=', refund.id).executeTakeFirstOrThrow()).status;
  for (const deadline = Date.now() + 10_000; (await status()) === 'pending' && Date.now() < deadline;) await sleep(20);
  t.equal(await status(), 'succeeded');
});
