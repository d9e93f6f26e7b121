// SP-17 (PCI DSS 10.2), SP-21: every tokenize, authorization and refused caller leaves an audit
// event in vault.audit_outbox naming the token, a fingerprint prefix, the caller's certificate
// identity and the outcome — never the card number.
import t from 'tap';
import { Agent, request } from 'undici';
import { pkiFile } from '../../test/support/pki.js';
import { startTestVault } from '../../test/support/vault.js';
import { insertCardsWithAudit } from '../src/storage/cards.repository.js';
import { vaultAuditEvent } from '../src/audit.js';

const vault = await startTestVault(t);
const events = async () => (await vault.db.selectFrom('vault.audit_outbox').select('payload').orderBy('event_id').execute())
  .map((r) => r.payload as any);
async function eventually<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
  for (let i = 0; i < 50; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

t.test('SP-17: tokenize and authorize are audited with token, fingerprint prefix and caller', async (t) => {
  const tokenized = await vault.client.call<any>('POST', '/v1/tokens', { pan: '4400430000000007', expMonth: 12, expYear: 2030, cvv: '123', clientRef: 'client-1' });
  const { token, fingerprint } = tokenized.body;
  await vault.client.call('POST', '/v1/authorizations', { token, clientRef: 'client-1', amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: 'p-1' });
  const all = await events();
  t.match(all.find((e) => e.action === 'vault.card.tokenize'), {
    component: 'vault', actor: { type: 'system', id: 'gateway' }, outcome: 'success',
    targets: { cardToken: token, fingerprintPrefix: fingerprint.slice(0, 12), keyVersion: 1 }, ip: '127.0.0.1',
  });
  t.match(all.find((e) => e.action === 'vault.card.authorize'), {
    actor: { id: 'gateway' }, outcome: 'success', targets: { cardToken: token, fingerprintPrefix: fingerprint.slice(0, 12) },
    details: { paymentRef: 'p-1', result: 'approved', threeDS: 'frictionless' },
  });
  t.notMatch(JSON.stringify(all), /4400430000000007|"123"/, 'no card data in any event');
});

t.test('SP-17: refused tokenizations and unknown tokens are audited', async (t) => {
  await vault.client.call('POST', '/v1/tokens', { pan: '4000000000000002', expMonth: 12, expYear: 2030, clientRef: 'client-2' });
  await vault.client.call('POST', '/v1/authorizations', { token: 'tok_unknown', clientRef: 'client-2', amount: { value: 1, currency: 'KZT' }, merchant: 'm', paymentRef: 'p-2' });
  const all = await events();
  t.match(all.find((e) => e.action === 'vault.card.tokenize' && e.outcome === 'refused'), { details: { reason: 'card_not_kz' } });
  t.match(all.find((e) => e.action === 'vault.card.authorize' && e.outcome === 'refused'), { details: { reason: 'token_unknown', paymentRef: 'p-2' } });
});

t.test('SP-4, SP-17: a refused peer and a refused handshake are audited', async (t) => {
  const call = async (connect: object) => {
    const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), ...connect } });
    try {
      return (await request(`${vault.url}/healthz`, { dispatcher: agent })).statusCode;
    } finally {
      await agent.close();
    }
  };
  t.equal(await call({ cert: pkiFile('admin.crt'), key: pkiFile('admin.key') }), 403);
  const peer = await eventually(async () => (await events()).find((e) => e.action === 'vault.connection.refused' && e.details.reason === 'peer_not_allowed'));
  t.match(peer, { actor: { type: 'system', id: 'admin' }, outcome: 'refused' });
  await t.rejects(call({}), 'no client certificate');
  const handshake = await eventually(async () => (await events()).find((e) => e.action === 'vault.connection.refused' && e.details.reason === 'tls_handshake'));
  t.match(handshake, { outcome: 'refused', ip: /127\.0\.0\.1/ });
});

t.test('SP-4: a refused certificate stays refused on every request of a kept-alive connection', async (t) => {
  const agent = new Agent({ connections: 1, connect: { ca: pkiFile('ca.crt'), cert: pkiFile('admin.crt'), key: pkiFile('admin.key') } });
  t.teardown(() => agent.close());
  for (let i = 0; i < 3; i++) {
    const res = await request(`${vault.url}/v1/tokens`, {
      method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pan: '4400430000000007', expMonth: 12, expYear: 2030, clientRef: 'c' }),
    });
    await res.body.text();
    t.equal(res.statusCode, 403, `request ${i + 1}`);
  }
  const stored = await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', 'c').execute();
  t.equal(stored.length, 0, 'nothing was tokenized for the refused peer');
});

t.test('SP-17: cards tokenized at the same moment share a statement, and each has its own event', async (t) => {
  const results = await Promise.all(Array.from({ length: 20 }, () => vault.client.call<any>('POST', '/v1/tokens',
    { pan: '4400430000000007', expMonth: 12, expYear: 2030, clientRef: 'client-burst' })));
  t.same(results.map((r) => r.status), Array(20).fill(201));
  const stored = await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', 'client-burst').execute();
  const audited = (await events()).filter((e) => e.action === 'vault.card.tokenize' && e.outcome === 'success')
    .map((e) => e.targets.cardToken as string);
  t.same(stored.map((r) => r.token).sort(), results.map((r) => r.body.token).sort(), 'every card was stored');
  for (const r of results) t.equal(audited.filter((tok) => tok === r.body.token).length, 1, 'once audited');
});

t.test('SP-17, SP-21: a failed group statement stores no card and no event', async (t) => {
  const before = (await events()).length;
  const entry = (token: string) => ({
    row: {
      token, client_ref: 'client-fail', fingerprint: 'f'.repeat(64), brand: 'visa' as const, bin6: '440043', last4: '0007',
      issuer_country: 'KZ', card_ciphertext: Buffer.alloc(40), dek_wrapped: Buffer.alloc(60), kek_version: 1, created_at: new Date(),
    },
    event: vaultAuditEvent(vault.clock, { identity: 'gateway' }, { action: 'vault.card.tokenize', outcome: 'success', targets: { cardToken: token } }),
  });
  // The last card of the batch names a token already stored: the whole statement is refused.
  const existing = (await vault.db.selectFrom('vault.cards').select('token').executeTakeFirstOrThrow()).token;
  await t.rejects(insertCardsWithAudit(vault.db, [entry('tok_new_1'), entry('tok_new_2'), entry(existing)]));
  t.equal((await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', 'client-fail').execute()).length, 0, 'no card');
  t.equal((await events()).length, before, 'no event');
});
