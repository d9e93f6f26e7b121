import t from 'tap';
import { listenAdmin } from '../../../test/support/admin.js';
import { auditEvents } from '../../../test/support/clients.js';
import { CARDS, create, entered, newClient, pay, paymentBody, paymentsWorld, type Client } from './world.js';

const { gw, vault } = await paymentsWorld(t);
const admin = await listenAdmin(t, gw.ctx);

async function dispute(c: Client, paymentId: string, reason: string) {
  return gw.app.inject({ method: 'POST', url: '/v1/disputes', headers: c.auth, payload: { paymentId, reason } });
}

async function payment(c: Client, id: string) {
  return (await gw.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: c.auth })).json();
}

t.test('SP-18: a dispute on a 3DS-bypassed payment of an enrolled card (0049) is refunded automatically', async (t) => {
  const c = await newClient(gw);
  const paid = await pay(gw, c, entered(CARDS.bypassedEnrolled));
  t.same(paid.confirmed.threeDS, { enrolled: true, result: 'bypassed' });
  const res = await dispute(c, paid.created.id, '3ds_bypassed');
  t.equal(res.statusCode, 201);
  const d = res.json();
  t.match(d, { status: 'resolved', outcome: 'refunded', reason: '3ds_bypassed' });
  t.match(d.refund, { status: 'succeeded', amount: { value: 150_000, currency: 'KZT' } });
  const p = await payment(c, paid.created.id);
  t.same([p.status, p.refundedAmount], ['refunded', 150_000]);
  const vaultRefunds = await vault.db.selectFrom('vault.refunds').select(['amount_value', 'refund_ref']).where('refund_ref', '=', d.refund.id).execute();
  t.same(vaultRefunds.map((r) => r.amount_value), [150_000], 'the vault moved the money back once');
  const resolved = (await auditEvents(gw, 'dispute.resolved')).filter((e) => e.targets.disputeId === d.id);
  t.same(resolved.map((e) => [e.actor.type, e.details?.outcome]), [['system', 'refunded']]);
});

t.test('SP-18: the same dispute on a not-enrolled (0023) or authenticated (0007) payment opens a case and refunds nothing', async (t) => {
  const c = await newClient(gw);
  for (const pan of [CARDS.notEnrolled, CARDS.frictionless]) {
    const paid = await pay(gw, c, entered(pan));
    const d = (await dispute(c, paid.created.id, '3ds_bypassed')).json();
    t.match(d, { status: 'open', outcome: null, refund: null }, pan.slice(-4));
    t.equal((await payment(c, paid.created.id)).status, 'succeeded');
  }
});

t.test('SP-19: a lost-card report blocks the saved card for further use', async (t) => {
  const c = await newClient(gw);
  const paid = await pay(gw, c, entered(CARDS.mastercard));
  const cardId = paid.created.card.id;
  const d = await dispute(c, paid.created.id, 'lost_card');
  t.equal(d.statusCode, 201);
  t.equal(d.json().status, 'open');
  const cards = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth })).json().data;
  t.equal(cards.find((x: { id: string }) => x.id === cardId).status, 'blocked');
  const saved = await create(gw, c, paymentBody({ cardId }));
  t.equal(saved.statusCode, 422);
  t.equal(saved.json().code, 'card_blocked');
  const reentered = await create(gw, c, paymentBody(entered(CARDS.mastercard)));
  t.equal(reentered.json().code, 'card_blocked', 'typing the lost card in again does not unblock it');
  t.equal((await auditEvents(gw, 'card.blocked')).filter((e) => e.targets.cardId === cardId).length, 1);
});

t.test('SP-20: disputes only for completed payments, one per payment, own payments only', async (t) => {
  const c = await newClient(gw);
  const other = await newClient(gw);
  const open = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  t.equal((await dispute(c, open.id, 'unauthorized')).json().code, 'dispute_not_allowed');
  const paid = await pay(gw, c, entered(CARDS.frictionless));
  t.equal((await dispute(other, paid.created.id, 'unauthorized')).statusCode, 404, 'another client\'s payment is not found');
  t.equal((await dispute(c, paid.created.id, 'unauthorized')).statusCode, 201);
  t.equal((await dispute(c, paid.created.id, 'unauthorized')).json().code, 'dispute_exists');
  t.equal((await dispute(c, paid.created.id, 'chargeback')).json().code, 'validation_failed');
});

t.test('SP-20: staff list, annotate and resolve cases on the admin listener; the case points at the audit export', async (t) => {
  const c = await newClient(gw);
  const paid = await pay(gw, c, entered(CARDS.frictionless));
  const d = (await dispute(c, paid.created.id, 'unauthorized')).json();
  const list = await admin.call('GET', '/v1/disputes?status=open');
  t.equal(list.status, 200);
  t.ok(list.json().data.some((x: { id: string }) => x.id === d.id));
  const note = await admin.call('POST', `/v1/disputes/${d.id}/notes`, { text: 'Client called; card was in their wallet.' });
  t.equal(note.status, 201);
  t.equal(note.json().author, 'admin');
  const resolved = await admin.call('POST', `/v1/disputes/${d.id}/resolve`, { outcome: 'rejected', note: 'Authenticated with 3DS.' });
  t.equal(resolved.status, 200);
  t.match(resolved.json(), { status: 'resolved', outcome: 'rejected', resolvedBy: 'admin' });
  t.equal(resolved.json().notes.length, 2);
  t.equal(resolved.json().auditExport.startsWith(`/v1/clients/${c.clientId}/audit?from=`), true);
  t.equal((await admin.call('POST', `/v1/disputes/${d.id}/resolve`, { outcome: 'upheld' })).status, 409, 'a closed case stays closed');
  t.equal((await admin.call('GET', `/v1/disputes/${d.id}`, undefined, 'gateway')).status, 403, 'only allow-listed staff');
  const staff = (await auditEvents(gw)).filter((e) => e.targets.disputeId === d.id && e.actor.type === 'staff');
  // (The ManualClock stands still, so event ids of one millisecond are not ordered: compare as a set.)
  t.same(staff.map((e) => `${e.action} ${e.outcome} by ${e.actor.id}`).sort(),
    ['dispute.note_added success by admin', 'dispute.resolved refused by admin', 'dispute.resolved success by admin'], 'SP-21: the refused second resolution is on record too');
});

t.test('SP-20: staff refund partly, then fully, never more than was paid', async (t) => {
  const c = await newClient(gw);
  const paid = await pay(gw, c, entered(CARDS.frictionless));
  const id = paid.created.id;
  const part = await admin.call('POST', `/v1/payments/${id}/refunds`, { amount: { value: 50_000, currency: 'KZT' } });
  t.equal(part.status, 201);
  t.match(part.json(), { status: 'succeeded', amount: { value: 50_000 } });
  t.same([(await payment(c, id)).status, (await payment(c, id)).refundedAmount], ['partially_refunded', 50_000]);
  const racing = await Promise.all([1, 2, 3].map(() => admin.call('POST', `/v1/payments/${id}/refunds`, { amount: { value: 60_000, currency: 'KZT' } })));
  t.same(racing.map((r) => r.status).sort(), [201, 422, 422], 'concurrent refunds cannot exceed the payment');
  const rest = await admin.call('POST', `/v1/payments/${id}/refunds`, {});
  t.match(rest.json(), { status: 'succeeded', amount: { value: 40_000 } });
  t.same([(await payment(c, id)).status, (await payment(c, id)).refundedAmount], ['refunded', 150_000]);
  t.equal((await admin.call('POST', `/v1/payments/${id}/refunds`, {})).json().code, 'refund_not_allowed');
  t.equal((await admin.call('POST', `/v1/payments/${id}/refunds`, { amount: { value: 1.5, currency: 'KZT' } })).json().code, 'validation_failed');
  const requested = (await auditEvents(gw, 'refund.succeeded')).filter((e) => e.targets.paymentId === id);
  t.same(requested.map((e) => [e.actor.type, e.actor.id]), Array(3).fill(['staff', 'admin']));
});
