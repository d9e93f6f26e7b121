import t from 'tap';
import { auditEvents, sentSms } from '../../../test/support/clients.js';
import { CARDS, create, entered, newClient, paymentBody, paymentsWorld } from './world.js';

const { gw } = await paymentsWorld(t);

t.test('SP-15.1: foreign and unknown-BIN cards are refused before anything else happens', async (t) => {
  const c = await newClient(gw);
  const smsBefore = (await sentSms(gw)).length;
  const foreign: Array<[string, string]> = [['US Visa', CARDS.foreignVisa], ['US Mastercard', CARDS.foreignMastercard], ['unknown BIN', CARDS.unknownBin]];
  for (const [name, pan] of foreign) {
    const res = await create(gw, c, paymentBody(entered(pan)));
    t.equal(res.statusCode, 422, name);
    t.equal(res.json().code, 'card_not_kz', name);
    t.notOk(res.body.includes(pan), `${name}: the PAN is not echoed`);
  }
  const payments = await gw.db.selectFrom('gateway.payments').where('client_id', '=', c.clientId).select('id').execute();
  const cards = await gw.db.selectFrom('gateway.cards').where('client_id', '=', c.clientId).select('id').execute();
  const months = await gw.db.selectFrom('gateway.card_months').where('client_id', '=', c.clientId).select('month').execute();
  t.same([payments.length, cards.length, months.length], [0, 0, 0], 'no payment, no saved card, nothing counted toward SP-15.3');
  t.equal((await sentSms(gw)).length, smsBefore, 'no code was sent');
  const refused = (await auditEvents(gw, 'payment.create')).filter((e) => e.targets.clientId === c.clientId);
  t.equal(refused.length, 3, 'SP-21: each refusal is audited');
  t.same(refused.map((e) => [e.outcome, e.details?.reason]), Array(3).fill(['refused', 'card_not_kz']));
});

t.test('SP-15.1: expired and malformed cards get clear errors and change nothing', async (t) => {
  const c = await newClient(gw);
  const expired = await create(gw, c, paymentBody(entered(CARDS.frictionless, { expMonth: 10, expYear: 2026 })));
  t.equal(expired.statusCode, 400);
  t.equal(expired.json().code, 'card_expired');
  const luhn = await create(gw, c, paymentBody(entered('4400430000000008')));
  t.equal(luhn.statusCode, 400);
  t.equal(luhn.json().code, 'card_invalid');
  const short = await create(gw, c, paymentBody(entered('44004300')));
  t.equal(short.json().code, 'validation_failed');
  const numeric = await create(gw, c, paymentBody({ ...entered(CARDS.frictionless), number: 4400430000000007 }));
  t.equal(numeric.json().code, 'validation_failed', 'a card number must be a string of digits');
  const cards = await gw.db.selectFrom('gateway.cards').where('client_id', '=', c.clientId).select('id').execute();
  t.equal(cards.length, 0);
});

t.test('SP-15.1: a KZ card of either brand is accepted', async (t) => {
  const c = await newClient(gw);
  for (const pan of [CARDS.frictionless, CARDS.mastercard]) {
    const res = await create(gw, c, paymentBody(entered(pan)));
    t.equal(res.statusCode, 201, pan.slice(0, 6));
  }
});
