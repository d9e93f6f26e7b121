// SP-17 (PCI DSS 10.2), SP-21: every tokenize, authorization and refused caller leaves an audit
// event in vault.audit_outbox naming the token, a fingerprint prefix, the caller's certificate
// identity and the outcome — never the card number.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { pkiFile } from '../../test/support/pki.js';
import { startTestVault } from '../../test/support/vault.js';
import { recordingVaultCaller } from '../../test/support/vault-http.js';
import { createLogger } from '../../lib/logger.js';
import { insertCardsWithAudit } from '../src/storage/cards.repository.js';
import { vaultAuditEvent } from '../src/audit.js';
import { FileKeyProvider, type KeyProvider } from '../src/crypto/key-provider.js';
import { ProcessorUnavailable } from '../src/processor/processor.js';

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
  await t.rejects(call({}), { name: 'SocketError', code: 'UND_ERR_SOCKET' }, 'no client certificate');
  const handshake = await eventually(async () => (await events()).find((e) => e.action === 'vault.connection.refused' && e.details.reason === 'tls_handshake'));
  t.match(handshake, { outcome: 'refused', ip: /127\.0\.0\.1/ });
});

t.test('SP-4, SP-17: a refused handshake\'s log line shows its TLS error code; an OTP code is still redacted', async (t) => {
  const lines: any[] = [];
  const logged = await startTestVault(t, { logStream: { write: (line: string) => { lines.push(JSON.parse(line)); } } });
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt') } });
  t.teardown(() => agent.close());
  await t.rejects(request(`${logged.url}/healthz`, { dispatcher: agent }), { name: 'SocketError', code: 'UND_ERR_SOCKET' }, 'no client certificate');
  const line = await eventually(async () => lines.find((l) => l.msg === 'vault refused a TLS handshake'));
  t.match(line, { level: 40, tlsError: /^ERR_SSL_[A-Z_]+$/, ip: '127.0.0.1' });
  // The same configuration still hides a code anywhere it is logged (the rule that hid the TLS code).
  const otpLines: string[] = [];
  createLogger('vault', 'info', { write: (l: string) => { otpLines.push(l); } }).warn({ err: { code: '654321' }, verification: { code: '123456' } }, 'otp');
  t.notMatch(otpLines.join(''), /654321|123456/);
  t.match(JSON.parse(otpLines[0]!), { err: { code: '[REDACTED]' }, verification: { code: '[REDACTED]' } });
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
      token, client_ref: 'client-fail', fingerprint: 'f'.repeat(64), fingerprint_version: 1, previous_fingerprint: null, brand: 'visa' as const, bin6: '440043', last4: '0007',
      issuer_country: 'KZ', card_ciphertext: Buffer.alloc(40), dek_wrapped: Buffer.alloc(60), kek_version: 1, created_at: new Date(),
    },
    event: vaultAuditEvent(vault.clock, { identity: 'gateway' }, { action: 'vault.card.tokenize', outcome: 'success', targets: { cardToken: token } }),
  });
  // The last card of the batch names a token already stored: the whole statement is refused.
  const existing = (await vault.db.selectFrom('vault.cards').select('token').executeTakeFirstOrThrow()).token;
  await t.rejects(insertCardsWithAudit(vault.db, [entry('tok_new_1'), entry('tok_new_2'), entry(existing)]), { code: '23505', constraint: 'cards_pkey' });
  t.equal((await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', 'client-fail').execute()).length, 0, 'no card');
  t.equal((await events()).length, before, 'no event');
});

/** Runs `attempt`; returns the vault.card.* events it added (a refused peer's late event is not one). */
async function eventsOf(attempt: () => Promise<unknown>): Promise<any[]> {
  const before = new Set((await events()).map((e) => e.id));
  await attempt();
  return (await events()).filter((e) => !before.has(e.id) && e.action.startsWith('vault.card.'));
}
const PAN = '4400430000000007';
const tokenizeBody = (extra: object = {}) => ({ pan: PAN, expMonth: 12, expYear: 2030, cvv: '987', clientRef: 'client-f', ...extra });
const authorizeBody = (token: string, extra: object = {}) => ({
  token, clientRef: 'client-f', amount: { value: 500, currency: 'KZT' }, merchant: 'm', paymentRef: `pf-${Math.random()}`, ...extra,
});
function noCardData(t: Test, recorded: any[]) {
  t.notMatch(JSON.stringify(recorded), new RegExp(`${PAN}|"987"|"98"`), 'no PAN or CVV in the event');
}
/** A KEK file of this test's own. */
function kekFile(t: Test, content: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'sp17-kek-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kek.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}
function swapKeys(t: Test, keys: KeyProvider) {
  const real = vault.ctx.keys;
  vault.ctx.keys = keys;
  t.teardown(() => { vault.ctx.keys = real; });
}

t.test('SP-17: every refused tokenization leaves exactly one refused event with its code, naming the caller', async (t) => {
  const cases: Array<[string, object, string]> = [
    ['check digit', { pan: '4400430000000008' }, 'card_invalid'],
    ['expired', { expMonth: 1, expYear: 2020 }, 'card_expired'],
    ['foreign issuer', { pan: '4000000000000002' }, 'card_not_kz'],
  ];
  for (const [what, extra, code] of cases) {
    const recorded = await eventsOf(async () => {
      t.equal((await vault.client.call<any>('POST', '/v1/tokens', tokenizeBody(extra))).body.code, code, what);
    });
    t.equal(recorded.length, 1, `${what}: one event`);
    t.match(recorded[0], { action: 'vault.card.tokenize', outcome: 'refused', actor: { id: 'gateway' }, details: { reason: code } }, what);
    t.notOk(recorded[0].targets.cardToken, `${what}: no token was issued`);
    noCardData(t, recorded);
  }
});

t.test('SP-17: a card request refused by its schema or unreadable leaves one refused event, before any service ran', async (t) => {
  const caller = recordingVaultCaller(t, vault.url);
  const send = (path: string, body: string) => async () => {
    const res = await caller.call('POST', path, body);
    t.equal(res.status, 400, `${path} refused`);
    t.equal(res.json?.code, 'validation_failed');
  };
  const cases: Array<[string, () => Promise<void>, string]> = [
    ['tokenize, PAN missing', send('/v1/tokens', JSON.stringify({ expMonth: 12, expYear: 2030, clientRef: 'client-f', cvv: '987' })), 'vault.card.tokenize'],
    ['tokenize, unknown field', send('/v1/tokens', JSON.stringify(tokenizeBody({ track2: PAN }))), 'vault.card.tokenize'],
    ['tokenize, not JSON', send('/v1/tokens', `{"pan":"${PAN}",`), 'vault.card.tokenize'],
    ['authorize, amount missing', send('/v1/authorizations', JSON.stringify({ token: 'tok_x', clientRef: 'client-f', merchant: 'm', paymentRef: 'p-v', cvv: '987' })), 'vault.card.authorize'],
  ];
  for (const [what, attempt, action] of cases) {
    const recorded = await eventsOf(attempt);
    t.equal(recorded.length, 1, `${what}: one event`);
    t.match(recorded[0], { action, outcome: 'refused', actor: { id: 'gateway' }, details: { reason: 'validation_failed' } }, what);
    noCardData(t, recorded);
  }
  const before = new Set((await events()).map((e) => e.id));
  t.equal((await caller.call('GET', '/v1/nothing-here')).status, 404);
  const after = (await events()).filter((e) => !before.has(e.id));
  t.same(after.map((e) => [e.action, e.outcome]), [['vault.request', 'refused']], 'a request to no card route is refused on record, not as a card access');
});

t.test('SP-17: a tokenization failing on its key leaves one failure event with the fingerprint prefix', async (t) => {
  const path = kekFile(t, { active: 1, keys: { 1: randomBytes(32).toString('base64') } });
  swapKeys(t, new FileKeyProvider(path, 0));
  // The key file goes bad under a running vault: the active version has no key.
  writeFileSync(path, JSON.stringify({ active: 2, keys: { 1: randomBytes(32).toString('base64') } }));
  const recorded = await eventsOf(async () => {
    await t.rejects(vault.client.call('POST', '/v1/tokens', tokenizeBody()), { name: 'VaultUnavailable', message: /status 500/ });
  });
  t.equal(recorded.length, 1, 'one event');
  t.match(recorded[0], {
    action: 'vault.card.tokenize', outcome: 'failure', actor: { id: 'gateway' },
    targets: { fingerprintPrefix: /^[0-9a-f]{12}$/ }, details: { reason: 'internal_error', error: 'KeyError' },
  });
  t.notOk(recorded[0].targets.cardToken, 'no token was issued');
  noCardData(t, recorded);
  t.equal((await vault.db.selectFrom('vault.cards').select('token').where('client_ref', '=', 'client-f').execute()).length, 0, 'nothing stored');
});

t.test('SP-17: every failed authorization leaves exactly one event with its code, the token and fingerprint prefix', async (t) => {
  const card = (await vault.client.call<any>('POST', '/v1/tokens', tokenizeBody({ cvv: undefined }))).body;
  const targets = { cardToken: card.token, fingerprintPrefix: card.fingerprint.slice(0, 12), keyVersion: 1 };
  const expectOne = async (what: string, attempt: () => Promise<unknown>, outcome: string, details: object) => {
    const recorded = await eventsOf(attempt);
    t.equal(recorded.length, 1, `${what}: one event`);
    t.match(recorded[0], { action: 'vault.card.authorize', outcome, actor: { id: 'gateway' }, targets, details }, what);
    noCardData(t, recorded);
  };
  const refusedWith = (body: object, code: string) => async () => {
    t.equal((await vault.client.call<any>('POST', '/v1/authorizations', body)).body.code, code);
  };

  const badCvv = authorizeBody(card.token, { cvv: '98' });
  await expectOne('malformed CVV', refusedWith(badCvv, 'card_invalid'), 'refused', { reason: 'card_invalid', paymentRef: badCvv.paymentRef });
  const noCvv = authorizeBody(card.token);
  await expectOne('no CVV held', refusedWith(noCvv, 'cvv_required'), 'refused', { reason: 'cvv_required', paymentRef: noCvv.paymentRef });

  const first = authorizeBody(card.token, { cvv: '987' });
  const approved = async () => {
    t.equal((await vault.client.call<any>('POST', '/v1/authorizations', first)).body.outcome, 'approved');
  };
  await expectOne('approved', approved, 'success', { result: 'approved', paymentRef: first.paymentRef });
  await expectOne('a repeat', approved, 'success', { replay: true, paymentRef: first.paymentRef });
  const conflict = { ...first, amount: { value: 1, currency: 'KZT' } };
  await expectOne('paymentRef reused', refusedWith(conflict, 'idempotency_conflict'), 'refused', { reason: 'idempotency_conflict', paymentRef: first.paymentRef });

  const down = authorizeBody(card.token, { cvv: '987' });
  const sandbox = vault.ctx.processor;
  vault.ctx.processor = { ...sandbox, name: 'down', authorize: async () => { throw new ProcessorUnavailable('no answer from the acquirer'); } };
  t.teardown(() => { vault.ctx.processor = sandbox; });
  await expectOne('processor unavailable', async () => {
    await t.rejects(vault.client.call('POST', '/v1/authorizations', down), { message: /status 503/ });
  }, 'failure', { reason: 'processor_unavailable', paymentRef: down.paymentRef });
  vault.ctx.processor = sandbox;

  swapKeys(t, new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: randomBytes(32).toString('base64') } })));
  const wrongKek = authorizeBody(card.token, { cvv: '987' });
  await expectOne('wrong KEK', async () => {
    await t.rejects(vault.client.call('POST', '/v1/authorizations', wrongKek), { message: /status 500/ });
  }, 'failure', { reason: 'internal_error', error: 'KeyError', paymentRef: wrongKek.paymentRef });
  t.equal((await vault.db.selectFrom('vault.authorizations').select('id').where('payment_ref', 'in', [badCvv.paymentRef, noCvv.paymentRef, down.paymentRef, wrongKek.paymentRef]).execute()).length, 0,
    'no failed attempt left an authorization');
});

t.test('SP-17: an unknown token is audited once, without naming what was sent as the token', async (t) => {
  const body = authorizeBody('4400430000000007', { cvv: '987' });
  const recorded = await eventsOf(async () => {
    t.equal((await vault.client.call<any>('POST', '/v1/authorizations', body)).body.code, 'token_unknown');
  });
  t.equal(recorded.length, 1);
  t.match(recorded[0], { action: 'vault.card.authorize', outcome: 'refused', details: { reason: 'token_unknown' } });
  t.same(recorded[0].targets, {}, 'no token, no fingerprint');
  noCardData(t, recorded);
});
