// Two gateway instances on one PostgreSQL and one Redis (issue 17 item 4): the gateway keeps no
// state of its own, so the limits and the payments sweep hold with concurrent requests split across both instances.
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestVault } from '../support/vault.js';
import { auditEvents, registerClient } from '../support/clients.js';
import { expirePayments } from '../../gateway/src/payments/payments.confirm.js';
import { CARDS, create, entered, kzCard, newClient, paymentBody } from '../../gateway/test/payments/world.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
const env = {
  PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000',
  LOGIN_RATE_LIMIT_PER_MINUTE: '1000', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000', OTP_MAX_PER_IP_HOUR: '1000',
};
const one = await buildTestGateway(t, { vault: vault.client, clock, env });
const two = await buildTestGateway(t, { instanceOf: one, vault: vault.client });
/** Request i goes to one instance or the other, as a load balancer would spread them. */
const either = (i: number): TestGateway => (i % 2 ? two : one);

function login(gw: TestGateway, phone: string, password: string) {
  return gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password } });
}

t.test('SP-11 across two instances: 12 wrong passwords racing evaluate exactly 3 and lock on both', async (t) => {
  const c = await registerClient(one);
  const statuses = (await Promise.all(Array.from({ length: 12 }, (_, i) => login(either(i), c.phone, `wrong-guess-${i}`)))).map((r) => r.statusCode);
  t.ok(statuses.every((s) => s === 401 || s === 423 || s === 429), `only 401/423/429: ${[...new Set(statuses)].join(',')}`);
  const evaluated = (await auditEvents(one, 'session.login')).filter((e) => e.targets.phone === c.phone && e.outcome === 'failure');
  t.equal(evaluated.length, 3, 'exactly 3 passwords evaluated across both instances');
  for (const gw of [one, two]) t.equal((await login(gw, c.phone, c.password)).statusCode, 423, 'the right password is refused on either instance');
});

t.test('SP-15.3 across two instances: 10 concurrent payments with 10 new cards yield exactly 3 accepted', async (t) => {
  const c = await newClient(one);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(either(i), c, paymentBody(entered(kzCard())))));
  t.same(results.map((r) => r.statusCode).sort(), [201, 201, 201, 422, 422, 422, 422, 422, 422, 422]);
  t.same(results.filter((r) => r.statusCode === 422).map((r) => r.json().code), Array(7).fill('card_limit_reached'));
  const cards = await one.db.selectFrom('gateway.cards').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(cards.length, 3, 'three cards saved, whichever instance took them');
});

t.test('Idempotency across two instances: one key clicked 6 times on both creates one payment', async (t) => {
  const c = await newClient(one);
  const body = paymentBody(entered(CARDS.frictionless));
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => create(either(i), c, body, { 'idempotency-key': 'click' })));
  const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().id));
  t.equal(ids.size, 1, 'every success names the same payment');
  t.ok(results.every((r) => r.statusCode === 201 || r.json().code === 'idempotency_conflict'), 'the rest are told the first is in flight');
  const payments = await one.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(payments.length, 1);
  const replay = await create(two, c, body, { 'idempotency-key': 'click' });
  t.same([replay.statusCode, replay.json().id, replay.headers['idempotent-replayed']], [201, [...ids][0], 'true'], 'the other instance replays it');
});

t.test('Payments sweep across two instances: sweeps racing on both expire each payment once (no double sweep)', async (t) => {
  const c = await newClient(one);
  const created = await Promise.all(Array.from({ length: 3 }, () => create(one, c, paymentBody(entered(kzCard())))));
  t.same(created.map((r) => r.statusCode), [201, 201, 201]);
  clock.advance(16 * 60_000);
  const now = clock.now();
  const before = (await auditEvents(one, 'payment.expired')).length;
  // The sweep is global: payments left by the tests above expire in it too.
  const expired = await Promise.all(Array.from({ length: 6 }, (_, i) => expirePayments(either(i).ctx, now)));
  const events = (await auditEvents(one, 'payment.expired')).slice(before);
  const swept = events.map((e) => e.targets.paymentId as string);
  t.equal(expired.reduce((a, b) => a + b, 0), swept.length, 'the sweeps together expired as many payments as were recorded');
  t.equal(new Set(swept).size, swept.length, 'no payment expired twice');
  t.ok(created.every((r) => swept.includes(r.json().id as string)), 'this client\'s three payments among them');
  const rows = await one.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId).select('status').execute();
  t.same(rows.map((r) => r.status), ['expired', 'expired', 'expired']);
  t.equal(await expirePayments(two.ctx, now), 0, 'a later sweep finds nothing left');
});
