// Issue 13, pool exhaustion (SP-15.2, SP-18): a confirm holds no database connection or row lock
// while the vault is asked. The vault's processor is stalled (its calls wait on a gate) while the
// gateway runs with a pool of 3 connections: more confirms than connections reach the vault at
// once, other routes answer meanwhile, and once the vault recovers each stuck payment is
// authorized and recorded exactly once, by a repeated confirm or by the sweep.
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { createVaultClient } from '../../../lib/vault-client.js';
import { auditEvents, lastSmsCode } from '../../../test/support/clients.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { pkiFile } from '../../../test/support/pki.js';
import { startTestVault } from '../../../test/support/vault.js';
import { ProcessorUnavailable, type Processor } from '../../../vault/src/processor/processor.js';
import { retryStuckPayments } from '../../src/payments/payment-retry.js';
import { confirm, create, entered, kzCard, newClient, paymentBody, type Client } from './world.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
// Longer than the pool's 5-second wait for a connection: a confirm that held its connection
// through the vault call would starve every other request past that wait.
const vaultClient = createVaultClient({
  url: new URL(vault.url), ca: pkiFile('ca.crt'), cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key'), timeoutMs: 8_000, connections: 16,
});
t.teardown(() => vaultClient.close());
const gw = await buildTestGateway(t, {
  vault: vaultClient, clock, env: {
    GATEWAY_DB_POOL: '3', VAULT_TIMEOUT_MS: '8000', PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000',
    VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', OTP_MAX_PER_IP_HOUR: '1000',
  },
});
const log = { warn: () => undefined, child: () => log } as unknown as Parameters<typeof retryStuckPayments>[2];

// The sandbox behind a gate: calls wait while it is closed, and the next `failures` calls fail
// as an unreachable acquirer does. Counts the calls per payment.
const sandbox = vault.ctx.processor;
const calls = new Map<string, number>();
const callWaiters: { n: number; resolve: () => void }[] = [];
let gate: Promise<void> | undefined;
let failures = 0;
const totalCalls = () => [...calls.values()].reduce((a, b) => a + b, 0);
const stalled: Processor = {
  name: sandbox.name,
  async authorize(request) {
    calls.set(request.paymentRef, (calls.get(request.paymentRef) ?? 0) + 1);
    for (const w of callWaiters.filter((w) => totalCalls() >= w.n)) w.resolve();
    if (gate) await gate;
    if (failures > 0) {
      failures -= 1;
      throw new ProcessorUnavailable('acquirer did not answer');
    }
    return sandbox.authorize(request);
  },
  completeChallenge: (request) => sandbox.completeChallenge(request),
  refund: (request) => sandbox.refund(request),
};
vault.ctx.processor = stalled;
const untilCalls = (n: number) => new Promise<void>((resolve) => {
  if (totalCalls() >= n) resolve();
  else callWaiters.push({ n, resolve });
});

async function started(c: Client) {
  const created = await create(gw, c, paymentBody(entered(kzCard())));
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.statusCode} ${created.body}`);
  return { c, id: created.json().id as string, code: await lastSmsCode(gw, c.phone) };
}

async function statusOf(id: string) {
  return (await gw.db.selectFrom('gateway.payments').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
}

async function approvedAtVault(id: string) {
  return vault.db.selectFrom('vault.authorizations').select('outcome').where('payment_ref', '=', id).execute();
}

t.test('SP-15.2, SP-18: a stalled vault drains no connections; other routes answer; stuck payments complete once', async (t) => {
  const payments = [];
  for (let i = 0; i < 6; i++) payments.push(await started(await newClient(gw)));
  let open!: () => void;
  gate = new Promise<void>((resolve) => { open = resolve; });

  const confirms = payments.map((p) => confirm(gw, p.c, p.id, p.code));
  // A confirm that held its connection through the vault call would let only three reach it; the
  // rest would wait for a connection until they gave up.
  await Promise.race([untilCalls(6), Promise.allSettled(confirms)]);
  t.equal(totalCalls(), 6, 'six confirms at the vault at once through a pool of three connections');
  const me = await gw.app.inject({ method: 'GET', url: '/v1/me', headers: payments[0]!.c.auth });
  const list = await gw.app.inject({ method: 'GET', url: '/v1/payments', headers: payments[1]!.c.auth });
  t.equal(me.statusCode, 200, 'GET /v1/me answers while confirms wait on the vault');
  t.equal(list.statusCode, 200, 'GET /v1/payments answers too');
  t.equal(list.json().data[0].status, 'processing', 'and shows the payment being confirmed');

  const answered = await Promise.all(confirms);
  t.same(answered.map((r) => [r.statusCode, r.json().code]), payments.map(() => [503, 'vault_unavailable']));
  for (const p of payments) t.equal(await statusOf(p.id), 'processing', 'confirmed, its code spent, waiting for the vault');

  gate = undefined;
  open(); // the vault recovers: the authorizations it held finish
  const again = await confirm(gw, payments[0]!.c, payments[0]!.id, payments[0]!.code);
  t.equal(again.statusCode, 200);
  t.equal(again.json().status, 'succeeded', 'a repeated confirm asks the vault again');
  clock.advance(2 * 60_000);
  const swept = await retryStuckPayments(gw.ctx, clock.now(), log);
  t.same(swept.map((p) => p.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'], 'the sweep finishes the rest');
  clock.advance(2 * 60_000);
  t.same(await retryStuckPayments(gw.ctx, clock.now(), log), [], 'nothing is left to retry');

  const authorized = await auditEvents(gw, 'payment.authorized');
  for (const p of payments) {
    t.equal(await statusOf(p.id), 'succeeded');
    t.equal(calls.get(p.id), 1, 'the processor was asked once');
    t.same((await approvedAtVault(p.id)).map((a) => a.outcome), ['approved'], 'one authorization at the vault');
    t.equal(authorized.filter((e) => e.targets.paymentId === p.id).length, 1, 'recorded and audited once');
  }
});

t.test('SP-15.2: a confirm retried after a vault outage completes once; a CVV the vault lost is asked for again', async (t) => {
  const p = await started(await newClient(gw));
  failures = 1;
  const down = await confirm(gw, p.c, p.id, p.code);
  t.equal(down.statusCode, 503);
  t.equal(down.json().code, 'vault_unavailable');
  t.equal(await statusOf(p.id), 'processing');
  clock.advance(2 * 60_000);
  t.same(await retryStuckPayments(gw.ctx, clock.now(), log), [], 'the sweep cannot send the CVV the failed attempt used up');
  t.equal(await statusOf(p.id), 'processing', 'it waits for the client within its window');

  const noCvv = await confirm(gw, p.c, p.id, p.code);
  t.equal(noCvv.statusCode, 422);
  t.equal(noCvv.json().code, 'cvv_required');
  t.equal(await statusOf(p.id), 'processing');
  const [one, two] = await Promise.all([confirm(gw, p.c, p.id, p.code, '123'), confirm(gw, p.c, p.id, p.code, '123')]);
  t.same([one.statusCode, two.statusCode], [200, 200]);
  t.same([one.json().status, two.json().status], ['succeeded', 'succeeded']);
  t.equal(calls.get(p.id), 2, 'the failed attempt and one authorization');
  t.same((await approvedAtVault(p.id)).map((a) => a.outcome), ['approved']);
  t.equal((await auditEvents(gw, 'payment.authorized')).filter((e) => e.targets.paymentId === p.id).length, 1);
});

t.test('SP-15.2: a payment whose CVV never comes back fails after its window, audited', async (t) => {
  const p = await started(await newClient(gw));
  failures = 1;
  t.equal((await confirm(gw, p.c, p.id, p.code)).statusCode, 503);
  clock.advance(16 * 60_000);
  const swept = await retryStuckPayments(gw.ctx, clock.now(), log);
  t.same(swept.map((s) => [s.id, s.status]), [[p.id, 'failed']]);
  const failed = (await auditEvents(gw, 'payment.failed')).filter((e) => e.targets.paymentId === p.id);
  t.equal(failed.length, 1);
  t.same(failed[0]!.actor, { type: 'system' });
  t.equal(failed[0]!.details?.reason, 'cvv_required');
});
