import t from 'tap';
import { auditEvents, lastSmsCode } from '../../../test/support/clients.js';
import { CARDS, confirm, create, entered, newClient, pay, paymentBody, paymentsWorld, relogin } from './world.js';

const { gw, vault, clock } = await paymentsWorld(t);

async function challenged(c: Awaited<ReturnType<typeof newClient>>) {
  const created = (await create(gw, c, paymentBody(entered(CARDS.challenge)))).json();
  const res = await confirm(gw, c, created.id, await lastSmsCode(gw, c.phone));
  return { id: created.id as string, res };
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
  const csp = String(page.headers['content-security-policy']);
  const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
  t.ok(nonce, 'the page\'s inline style is allowed by a nonce only');
  t.match(page.body, `<style nonce="${nonce}">`);
  t.match(csp, "default-src 'none'");
  t.notMatch(csp, /script-src|unsafe-inline/, 'no script, nothing inline without the nonce');

  const done = await gw.app.inject({ method: 'POST', url: next.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=pass' });
  t.equal(done.statusCode, 200);
  t.match(done.body, 'Authentication passed');
  const after = (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
  t.equal(after.status, 'succeeded');
  t.same(after.threeDS, { enrolled: true, result: 'challenged' });
  t.notOk('nextAction' in after);
  const again = await gw.app.inject({ method: 'POST', url: next.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=fail' });
  t.match(again.body, 'Authentication passed', 'a finished challenge cannot be re-answered');
  const threeDs = (await auditEvents(gw, 'payment.three_ds')).filter((e) => e.targets.paymentId === id);
  t.same(threeDs.map((e) => e.details?.result), ['challenged'], 'SP-21: 3DS outcome audited');
});

t.test('SP-18: a failed challenge fails the payment', async (t) => {
  const c = await newClient(gw);
  const { id, res } = await challenged(c);
  const done = await gw.app.inject({ method: 'POST', url: res.json().nextAction.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=fail' });
  t.match(done.body, 'Authentication failed');
  const after = (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
  t.equal(after.status, 'failed');
  t.same(after.threeDS, { enrolled: true, result: 'failed' });
});

t.test('SP-18: an abandoned challenge expires with the 15-minute window', async (t) => {
  let c = await newClient(gw);
  const { id, res } = await challenged(c);
  clock.advance(15 * 60_000);
  c = await relogin(gw, c);
  const after = (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
  t.equal(after.status, 'expired');
  const late = await gw.app.inject({ method: 'POST', url: res.json().nextAction.url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=pass' });
  t.match(late.body, 'expired');
  const row = await vault.db.selectFrom('vault.authorizations').select('outcome').where('payment_ref', '=', id).executeTakeFirstOrThrow();
  t.equal(row.outcome, 'challenge_required', 'the vault was never asked to finish it');
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
  const bad = await gw.app.inject({ method: 'POST', url: '/v1/3ds/challenges/chl_AAAAAAAAAAAAAAAAAAAAAA', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'result=maybe' });
  t.equal(bad.statusCode, 400);
});
