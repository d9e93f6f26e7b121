import t from 'tap';
import type { VaultClient } from '../../../lib/vault-client.js';
import { VaultUnavailable } from '../../../lib/vault-client.js';
import { listenAdmin } from '../../../test/support/admin.js';
import { auditEvents, lastSmsCode } from '../../../test/support/clients.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { startTestVault } from '../../../test/support/vault.js';
import { expirePayments } from '../../src/payments/payments.confirm.js';
import { retryStuckPayments } from '../../src/payments/payment-retry.js';
import { CARDS, confirm, create, entered, newClient, pay, paymentBody, relogin, type Client } from './world.js';
import { ManualClock } from '../../../lib/clock.js';

// The gateway talks to the real vault through this wrapper, which can hold a challenge
// completion (to order it against an expiry sweep) or fail calls as an unreachable vault does.
const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
let hold: Promise<void> | undefined;
let held: (() => void) | undefined;
let down = false;
const vaultClient: VaultClient = {
  async call(method, path, body) {
    if (down) throw new VaultUnavailable('ECONNREFUSED');
    if (path.endsWith('/complete') && hold) {
      held?.();
      await hold;
    }
    return vault.client.call(method, path, body);
  },
  healthy: () => vault.client.healthy(),
  close: async () => undefined,
};
const gw = await buildTestGateway(t, {
  vault: vaultClient, clock, env: {
    PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000',
    VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', OTP_MAX_PER_IP_HOUR: '1000',
  },
});
const log = { warn: () => undefined, child: () => log } as unknown as Parameters<typeof retryStuckPayments>[2];

async function challenged(c: Client) {
  const created = (await create(gw, c, paymentBody(entered(CARDS.challenge)))).json();
  const res = await confirm(gw, c, created.id, await lastSmsCode(gw, c.phone));
  return { id: created.id as string, res };
}

function answer(c: Pick<Client, 'auth'> | undefined, id: string, result: string) {
  return gw.app.inject({ method: 'POST', url: `/v1/payments/${id}/3ds`, headers: c?.auth ?? {}, payload: { result } });
}

async function paymentStatus(id: string) {
  return (await gw.db.selectFrom('gateway.payments').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
}

async function vaultOutcome(id: string) {
  return (await vault.db.selectFrom('vault.authorizations').select('outcome').where('payment_ref', '=', id).executeTakeFirstOrThrow()).outcome;
}

t.test('SP-18: a challenge card needs the 3-D Secure challenge; passing it completes the payment', async (t) => {
  const c = await newClient(gw);
  const { id, res } = await challenged(c);
  t.equal(res.statusCode, 200);
  t.equal(res.json().status, 'requires_action');
  const next = res.json().nextAction;
  t.equal(next.type, 'redirect_to_url');
  t.match(next.url, /^\/v1\/3ds\/challenges\/chl_[A-Za-z0-9_-]{22,}$/);

  const polled = await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth });
  t.equal(polled.json().status, 'requires_action', 'the client can poll the payment');
  t.equal(polled.json().nextAction.url, next.url);

  const page = await gw.app.inject({ method: 'GET', url: next.url });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.match(page.body, '1,500.00 KZT');
  t.match(page.body, '*0015');
  t.notMatch(page.body, /<form/, 'the page a bare ref opens changes nothing');
  const csp = String(page.headers['content-security-policy']);
  const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
  t.ok(nonce, 'the page\'s inline style is allowed by a nonce only');
  t.match(page.body, `<style nonce="${nonce}">`);
  t.match(csp, "default-src 'none'");
  t.match(csp, "form-action 'none'");
  t.notMatch(csp, /script-src|unsafe-inline/, 'no script, nothing inline without the nonce');
  const byRef = await gw.app.inject({ method: 'POST', url: next.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=pass' });
  t.equal(byRef.statusCode, 404, 'the ref alone cannot answer the challenge');

  const done = await answer(c, id, 'pass');
  t.equal(done.statusCode, 200);
  t.equal(done.json().status, 'succeeded');
  const after = (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
  t.equal(after.status, 'succeeded');
  t.same(after.threeDS, { enrolled: true, result: 'challenged' });
  t.notOk('nextAction' in after);
  const again = await answer(c, id, 'fail');
  t.equal(again.json().status, 'succeeded', 'a finished challenge cannot be re-answered');
  const threeDs = (await auditEvents(gw, 'payment.three_ds')).filter((e) => e.targets.paymentId === id);
  t.same(threeDs.map((e) => e.details?.result), ['challenged'], 'SP-21: 3DS outcome audited');
});

t.test('SP-17, SP-21: the outcome is the processor\'s (system actor), the answer the client\'s own event', async (t) => {
  const c = await newClient(gw);
  const { id } = await challenged(c);
  t.equal((await answer(c, id, 'pass')).json().status, 'succeeded');
  const events = (await auditEvents(gw)).filter((e) => e.targets.paymentId === id);
  const answered = events.filter((e) => e.action === 'payment.three_ds_answer');
  t.equal(answered.length, 1);
  t.same(answered[0]!.actor, { type: 'client', id: c.clientId });
  t.equal(answered[0]!.details?.result, 'pass');
  t.ok(answered[0]!.requestId, 'the client\'s event carries its request');
  const outcome = events.filter((e) => e.action === 'payment.authorized' || e.action === 'payment.three_ds');
  t.equal(outcome.length, 2);
  for (const e of outcome) {
    t.same(e.actor, { type: 'system', id: 'processor' }, `${e.action} by the processor`);
    t.equal(e.details?.processor, 'sandbox');
    t.notOk(e.ip, 'not attributed to the client\'s address');
  }
});

t.test('SP-18: a failed challenge fails the payment', async (t) => {
  const c = await newClient(gw);
  const { id } = await challenged(c);
  const done = await answer(c, id, 'fail');
  t.equal(done.json().status, 'failed');
  const after = (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
  t.equal(after.status, 'failed');
  t.same(after.threeDS, { enrolled: true, result: 'failed' });
});

t.test('SP-18: completion needs the paying client\'s session; another client finds nothing', async (t) => {
  const c = await newClient(gw);
  const other = await newClient(gw);
  const { id } = await challenged(c);
  const anonymous = await answer(undefined, id, 'pass');
  t.equal(anonymous.statusCode, 401);
  const stranger = await answer(other, id, 'pass');
  t.equal(stranger.statusCode, 404);
  t.equal(stranger.json().code, 'not_found');
  t.equal(await paymentStatus(id), 'requires_action', 'nothing changed');
  t.equal(await vaultOutcome(id), 'challenge_required', 'the vault was never asked');
  t.equal((await answer(c, id, 'pass')).json().status, 'succeeded', 'the payer still can');
});

t.test('SP-13: a client blocked after the challenge started cannot complete it', async (t) => {
  const admin = await listenAdmin(t, gw.ctx);
  const c = await newClient(gw);
  const { id } = await challenged(c);
  t.equal((await admin.call('POST', `/v1/clients/${c.clientId}/block`, { reason: 'suspected account takeover' })).status, 200);
  const res = await answer(c, id, 'pass');
  t.equal(res.statusCode, 403);
  t.equal(res.json().code, 'client_blocked');
  t.equal(await paymentStatus(id), 'requires_action', 'nothing changed');
  t.equal(await vaultOutcome(id), 'challenge_required', 'the vault was never asked');
  t.same((await auditEvents(gw, 'payment.three_ds_answer')).filter((e) => e.targets.paymentId === id).map((e) => [e.outcome, e.details?.reason]),
    [['refused', 'client_blocked']], 'SP-21: only the refusal is on record');
});

t.test('SP-18: an expiry sweep racing the completion never leaves money authorized on an expired payment', async (t) => {
  const c = await newClient(gw);
  const { id } = await challenged(c);
  // The answer is claimed just before the window ends; the vault call is held while the window
  // passes and the sweep runs.
  clock.advance(15 * 60_000 - 1_000);
  let reached!: () => void;
  const atVault = new Promise<void>((resolve) => { reached = resolve; });
  let release!: () => void;
  hold = new Promise<void>((resolve) => { release = resolve; });
  held = reached;
  const completion = answer(c, id, 'pass');
  await Promise.race([atVault, completion]);
  clock.advance(2_000);
  const expired = await expirePayments(gw.ctx, clock.now(), id);
  hold = undefined;
  release();
  const res = await completion;
  const status = await paymentStatus(id);
  const atTheVault = await vaultOutcome(id);
  t.equal(expired, 0, 'the sweep leaves a payment being completed alone');
  t.equal(res.statusCode, 200);
  t.equal(status, 'succeeded');
  t.equal(atTheVault, 'approved');
  t.notOk(status === 'expired' && atTheVault === 'approved', 'never expired with an approval at the vault');
});

t.test('SP-18: an answer after the sweep expired the payment is refused; the vault is never asked', async (t) => {
  let c = await newClient(gw);
  const { id, res } = await challenged(c);
  clock.advance(15 * 60_000);
  c = await relogin(gw, c);
  // The sweep and the answer at the same moment, both orders: the payment ends expired either way.
  const [swept, late] = await Promise.all([expirePayments(gw.ctx, clock.now(), id), answer(c, id, 'pass')]);
  t.ok(swept === 0 || swept === 1);
  t.equal(late.statusCode, 409);
  t.equal(late.json().code, 'payment_expired');
  t.equal(await paymentStatus(id), 'expired');
  t.equal(await vaultOutcome(id), 'challenge_required', 'the vault was never asked to finish it');
  const page = await gw.app.inject({ method: 'GET', url: res.json().nextAction.url });
  t.match(page.body, 'expired');
});

t.test('SP-18: an answer the vault could not take stays claimed; a retry or the sweep finishes it once', async (t) => {
  const c = await newClient(gw);
  const { id } = await challenged(c);
  down = true;
  const failed = await answer(c, id, 'pass');
  down = false;
  t.equal(failed.statusCode, 503);
  t.equal(failed.json().code, 'vault_unavailable');
  t.equal(await paymentStatus(id), 'processing', 'claimed: the expiry sweep leaves it alone');
  clock.advance(20 * 60_000);
  t.equal(await expirePayments(gw.ctx, clock.now(), id), 0);
  const fresh = await relogin(gw, c);
  const retried = await answer(fresh, id, 'pass');
  t.equal(retried.statusCode, 200);
  t.equal(retried.json().status, 'succeeded');
  t.equal((await auditEvents(gw, 'payment.authorized')).filter((e) => e.targets.paymentId === id).length, 1);

  // The sweep: an answer that reached the vault is recorded as the vault recorded it.
  const c2 = await newClient(gw);
  const second = await challenged(c2);
  down = true;
  t.equal((await answer(c2, second.id, 'pass')).statusCode, 503);
  down = false;
  await vault.client.call('POST', `/v1/challenges/${second.res.json().nextAction.url.split('/').pop()}/complete`, { result: 'pass' });
  clock.advance(2 * 60_000);
  const recorded = await retryStuckPayments(gw.ctx, clock.now(), log);
  t.same(recorded.map((p) => [p.id, p.status]), [[second.id, 'succeeded']]);
  clock.advance(2 * 60_000);
  t.same(await retryStuckPayments(gw.ctx, clock.now(), log), [], 'once');
});

t.test('SP-18: every payment records its 3-D Secure outcome and enrolment', async (t) => {
  clock.set('2026-11-24T12:00:00Z');
  const c = await newClient(gw);
  const frictionless = await pay(gw, c, entered(CARDS.frictionless));
  t.same([frictionless.confirmed.status, frictionless.confirmed.threeDS], ['succeeded', { enrolled: true, result: 'frictionless' }]);
  const notEnrolled = await pay(gw, c, entered(CARDS.notEnrolled));
  t.same([notEnrolled.confirmed.status, notEnrolled.confirmed.threeDS], ['succeeded', { enrolled: false, result: 'bypassed' }]);
  const dsDown = await pay(gw, c, entered(CARDS.bypassedEnrolled));
  t.same([dsDown.confirmed.status, dsDown.confirmed.threeDS], ['succeeded', { enrolled: true, result: 'bypassed' }]);
  const c2 = await newClient(gw);
  const declined = await pay(gw, c2, entered(CARDS.declined));
  t.equal(declined.confirmed.status, 'declined');
  t.ok(declined.confirmed.declineReason, 'the decline reason is shown');
  const rows = await gw.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId).select(['three_ds_result', 'three_ds_enrolled']).execute();
  t.equal(rows.length, 3, 'the three authorized payments');
  t.ok(rows.every((r) => r.three_ds_enrolled !== null), 'enrolment stored on every authorized payment');
});

t.test('SP-18: an unknown challenge ref is refused without a session or a hint', async (t) => {
  const res = await gw.app.inject({ method: 'GET', url: '/v1/3ds/challenges/chl_AAAAAAAAAAAAAAAAAAAAAA' });
  t.equal(res.statusCode, 404);
  const c = await newClient(gw);
  const { id } = await challenged(c);
  const bad = await answer(c, id, 'maybe');
  t.equal(bad.statusCode, 400);
  t.equal(await paymentStatus(id), 'requires_action');
});

t.test('SP-18: without THREE_DS_SANDBOX_PAGES the challenge page and its answer do not exist', async (t) => {
  const off = await buildTestGateway(t, { vault: vaultClient, clock, env: { THREE_DS_SANDBOX_PAGES: 'false' } });
  t.equal((await off.app.inject({ method: 'GET', url: '/v1/3ds/challenges/chl_AAAAAAAAAAAAAAAAAAAAAA' })).statusCode, 404);
  const res = await off.app.inject({ method: 'POST', url: '/v1/payments/0190d9b2-0000-7000-8000-000000000000/3ds', payload: { result: 'pass' } });
  t.equal(res.statusCode, 404);
  t.equal(res.json().code, 'not_found');
});
