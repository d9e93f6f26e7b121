// SP-15.1, SP-16: tokenize over real mutual TLS. Each refusal gets its own code and stores
// nothing; tokens are random; the fingerprint is the same for the same card only.
import t from 'tap';
import { startTestVault } from '../../test/support/vault.js';

const vault = await startTestVault(t);
const card = (pan: string, extra: Record<string, unknown> = {}) => ({ pan, expMonth: 12, expYear: 2030, clientRef: 'client-1', ...extra });
const tokenize = (body: unknown) => vault.client.call<any>('POST', '/v1/tokens', body);
const cardsOf = async (clientRef: string) =>
  (await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', clientRef).execute()).length;

t.test('SP-15.1, SP-16: a Kazakhstan card is tokenized; the response carries no card number', async (t) => {
  const res = await tokenize(card('4400 4300 0000 0007', { cvv: '123' }));
  t.equal(res.status, 201);
  t.same(res.body, {
    token: res.body.token, fingerprint: res.body.fingerprint, fingerprintVersion: 1, otherFingerprints: [], brand: 'visa', bin6: '440043', last4: '0007',
    issuerCountry: 'KZ', expMonth: 12, expYear: 2030,
  });
  t.match(res.body.token, /^tok_[A-Za-z0-9_-]{22}$/, '128 random bits');
  t.match(res.body.fingerprint, /^[0-9a-f]{64}$/);
  t.equal(vault.ctx.cvv.size, 1, 'the CVV waits in vault memory for the authorization');
  const mc = await tokenize(card('5395-4500-0000-0017'));
  t.match(mc.body, { brand: 'mastercard', issuerCountry: 'KZ', last4: '0017' });
});

t.test('SP-15.1: every bad card gets its own error code and nothing is stored', async (t) => {
  const cases: Array<[string, Record<string, unknown>, number, string]> = [
    ['Luhn', card('4400430000000008'), 400, 'card_invalid'],
    ['too short', card('440043000007'), 400, 'card_invalid'],
    ['too long', card('44004300000000000000'), 400, 'card_invalid'],
    ['non-digit', card('4400 43OO 0000 0007'), 400, 'card_invalid'],
    ['brand not accepted', card('378282246310005'), 400, 'card_invalid'],
    ['bad CVV', card('4400430000000007', { cvv: '12' }), 400, 'card_invalid'],
    ['expired', card('4400430000000007', { expMonth: 10, expYear: 2026 }), 400, 'card_expired'],
    ['foreign BIN (Visa, US)', card('4000000000000002', { cvv: '123' }), 422, 'card_not_kz'],
    ['foreign BIN (Mastercard, US)', card('5555555555554444'), 422, 'card_not_kz'],
    ['unknown BIN', card('4111111111111111', { cvv: '123' }), 422, 'card_not_kz'],
    ['missing field', { pan: '4400430000000007', clientRef: 'client-2' }, 400, 'validation_failed'],
    ['extra field', card('4400430000000007', { track2: 'x' }), 400, 'validation_failed'],
  ];
  const before = vault.ctx.cvv.size;
  for (const [name, body, status, code] of cases) {
    const res = await tokenize({ ...body, clientRef: 'client-2' });
    t.equal(res.status, status, `${name}: status`);
    t.equal(res.body.code, code, `${name}: ${code}`);
  }
  t.equal(await cardsOf('client-2'), 0, 'no card row');
  t.equal(vault.ctx.cvv.size, before, 'no CVV held');
});

t.test('SP-15.3 support: same card → same fingerprint, new token; another card → another fingerprint', async (t) => {
  const a1 = await tokenize(card('4400430000000007', { clientRef: 'client-3' }));
  const a2 = await tokenize(card('4400 4300 0000 0007', { clientRef: 'client-4', expMonth: 1, expYear: 2031 }));
  const b = await tokenize(card('4400430000000015', { clientRef: 'client-3' }));
  t.equal(a1.body.fingerprint, a2.body.fingerprint, 'fingerprint depends on the card number only');
  t.not(a1.body.token, a2.body.token, 'tokens are never derived from the PAN');
  t.not(a1.body.fingerprint, b.body.fingerprint);
});
