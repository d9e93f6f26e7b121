// SP-17, SP-21: each refusal the vault gives (403 peer_not_allowed, 400 validation on any route,
// 404 unknown token, challenge or route, 410 deleted card, 422 CVV required) leaves exactly one
// event in vault.audit_outbox, written before the answer leaves (read right after it, no polling).
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { pkiFile } from '../../test/support/pki.js';
import { startTestVault } from '../../test/support/vault.js';

const vault = await startTestVault(t);
const events = async () => (await vault.db.selectFrom('vault.audit_outbox').select(['event_id', 'payload']).orderBy('event_id').execute())
  .map((r) => ({ id: r.event_id, ...(r.payload as any) }));

async function once(t: Test, name: string, status: number, call: () => Promise<number>, expected: { action: string; reason: string }) {
  const before = new Set((await events()).map((e) => e.id));
  t.equal(await call(), status, `${name}: answered ${status}`);
  const added = (await events()).filter((e) => !before.has(e.id));
  t.same(added.map((e) => [e.action, e.outcome, e.details?.reason]), [[expected.action, 'refused', expected.reason]], `${name}: exactly one refused event`);
}

const call = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => async () => (await vault.client.call(method, path, body)).status;
const PAN = '4400430000000007';
const tokenize = async (clientRef: string, cvv?: string) => (await vault.client.call<any>('POST', '/v1/tokens', {
  pan: PAN, expMonth: 12, expYear: 2030, clientRef, ...(cvv ? { cvv } : {}),
})).body.token as string;
const authorize = (token: string, clientRef: string, paymentRef: string) => call('POST', '/v1/authorizations', {
  token, clientRef, amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef,
});

t.test('SP-4, SP-17: a refused peer is on record before its 403 arrives', async (t) => {
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), cert: pkiFile('admin.crt'), key: pkiFile('admin.key') } });
  t.teardown(() => agent.close());
  await once(t, 'staff certificate on the vault', 403, async () => {
    const res = await request(`${vault.url}/v1/tokens`, { method: 'POST', dispatcher: agent, body: '{}', headers: { 'content-type': 'application/json' } });
    await res.body.text();
    return res.statusCode;
  }, { action: 'vault.connection.refused', reason: 'peer_not_allowed' });
});

t.test('SP-17: every refusal of an allowed caller leaves one event', async (t) => {
  await once(t, 'refund: validation', 400, call('POST', '/v1/refunds', {}), { action: 'vault.refund', reason: 'validation_failed' });
  await once(t, 'challenge answer: validation', 400, call('POST', '/v1/challenges/abc/complete', { result: 'maybe' }), { action: 'vault.challenge.complete', reason: 'validation_failed' });
  await once(t, 'challenge: unknown', 404, call('GET', '/v1/challenges/chl_unknown_ref_0000'), { action: 'vault.challenge.read', reason: 'challenge_unknown' });
  await once(t, 'unknown route', 404, call('GET', '/v1/nothing-here'), { action: 'vault.request', reason: 'not_found' });
  await once(t, 'delete: validation', 400, call('DELETE', '/v1/tokens/x'), { action: 'vault.card.deleted', reason: 'validation_failed' });
  await once(t, 'tokenize: validation', 400, call('POST', '/v1/tokens', { pan: PAN }), { action: 'vault.card.tokenize', reason: 'validation_failed' });
  await once(t, 'authorize: unknown token', 404, authorize('tok_unknown', 'client-r', 'p-r1'), { action: 'vault.card.authorize', reason: 'token_unknown' });
  const noCvv = await tokenize('client-r');
  await once(t, 'authorize: no CVV held', 422, authorize(noCvv, 'client-r', 'p-r2'), { action: 'vault.card.authorize', reason: 'cvv_required' });
  const deleted = await tokenize('client-r', '123');
  t.equal(await call('DELETE', `/v1/tokens/${deleted}?clientRef=client-r`)(), 204);
  await once(t, 'authorize: deleted card', 410, authorize(deleted, 'client-r', 'p-r3'), { action: 'vault.card.authorize', reason: 'card_deleted' });
});
