// SP-16 / PCI DSS 3.2.1: card data retention in the vault. A card never used in an approved
// authorization is deleted after its window (and not before); the client's removal deletes a card
// at once and idempotently; a deleted card is a tombstone that cannot be authorized, while refunds
// of its past payments still work; every deletion is audited; and a deletion racing an
// authorization of the same card never leaves an authorization made on a half-deleted card.
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { HOUR, ManualClock, MINUTE } from '../../lib/clock.js';
import { startTestVault } from '../../test/support/vault.js';
import { deleteUnusedCards, RETENTION_WINDOW_MS } from '../src/retention.js';
import { lockUnusedCards, tombstoneCards } from '../src/storage/retention.repository.js';
import type { ProcessorOutcome } from '../src/processor/processor.js';
import { vaultAuditEvent } from '../src/audit.js';
import { recordsPerVersion } from '../src/rotation.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
let n = 0;
const ref = (prefix: string) => `${prefix}-${++n}`;

async function tokenFor(pan = '4400430000000007', clientRef = 'client-1'): Promise<string> {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef, cvv: '123' });
  if (res.status !== 201) throw new Error(`tokenize ${res.status}`);
  return res.body.token;
}
const authorize = (token: string, paymentRef = ref('pay'), clientRef = 'client-1') => vault.client.call<any>('POST', '/v1/authorizations', {
  token, clientRef, cvv: '123', amount: { value: 150000, currency: 'KZT' }, merchant: 'Almaty Power', paymentRef,
});
const remove = (token: string, clientRef = 'client-1') =>
  vault.client.call<any>('DELETE', `/v1/tokens/${token}?clientRef=${encodeURIComponent(clientRef)}`);

async function cardRow(token: string) {
  return vault.db.selectFrom('vault.cards').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
}
async function isDeleted(t: Test, token: string, reason: string): Promise<void> {
  const row = await cardRow(token);
  t.same({ ciphertext: row.card_ciphertext, dek: row.dek_wrapped, kek: row.kek_version, fingerprint: row.fingerprint },
    { ciphertext: null, dek: null, kek: null, fingerprint: null }, 'no card data is left');
  t.equal(row.deletion_reason, reason);
  t.ok(row.deleted_at);
}
async function deletionEvents(token: string) {
  const rows = await sql<{ payload: any }>`select payload from vault.audit_outbox
    where payload->>'action' = 'vault.card.deleted' and payload->'targets'->>'cardToken' = ${token}`.execute(vault.db);
  return rows.rows.map((r) => r.payload);
}
/** True once some session of this vault's database waits for a row lock: polled, no timer. */
async function untilSomeoneWaitsForALock(): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(vault.db);
    if (rows[0]!.n > 0) return;
  }
}

t.test('SP-16 / PCI DSS 3.2.1: a card never authorized is deleted after its window, not before, and the deletion is audited', async (t) => {
  const token = await tokenFor();
  const declined = await tokenFor('4400430000000031');
  t.equal((await authorize(declined)).body.outcome, 'declined');
  clock.advance(RETENTION_WINDOW_MS - MINUTE);
  await deleteUnusedCards(vault.ctx);
  t.ok((await cardRow(token)).card_ciphertext, 'inside its window the card is kept');
  t.ok((await cardRow(declined)).card_ciphertext);
  clock.advance(2 * MINUTE);
  t.ok(await deleteUnusedCards(vault.ctx) >= 2);
  await isDeleted(t, token, 'never_used');
  await isDeleted(t, declined, 'never_used');
  const events = await deletionEvents(token);
  t.equal(events.length, 1, 'one event per deletion');
  t.match(events[0], { component: 'vault', action: 'vault.card.deleted', outcome: 'success',
    actor: { type: 'system', id: 'vault-retention' }, targets: { cardToken: token, fingerprintPrefix: /^[0-9a-f]{12}$/, keyVersion: 1 },
    details: { reason: 'never_used' } });
  t.equal((await deletionEvents(declined)).length, 1);
  t.equal((await cardRow(token)).last4, '0007', 'the tombstone keeps the masked facts');
});

t.test('SP-16: a card with an approved authorization is kept, and so is one whose authorization is recent', async (t) => {
  const approved = await tokenFor();
  t.equal((await authorize(approved)).body.outcome, 'approved');
  const challenged = await tokenFor('4400430000000015');
  clock.advance(RETENTION_WINDOW_MS - HOUR);
  t.equal((await authorize(challenged)).body.outcome, 'challenge_required', 'a payment started late in the window');
  clock.advance(2 * HOUR);
  await deleteUnusedCards(vault.ctx);
  t.ok((await cardRow(approved)).card_ciphertext, 'a card used in an approved authorization stays');
  t.ok((await cardRow(challenged)).card_ciphertext, 'a card whose authorization was touched inside the window stays');
  t.same(await deletionEvents(approved), []);
  clock.advance(RETENTION_WINDOW_MS);
  await deleteUnusedCards(vault.ctx);
  t.ok((await cardRow(approved)).card_ciphertext, 'for good');
  await isDeleted(t, challenged, 'never_used');
});

t.test('SP-16: the client\'s removal deletes the card at once, idempotently; it cannot be authorized again; its refunds still work', async (t) => {
  const token = await tokenFor();
  const paid = await authorize(token);
  t.equal(paid.body.outcome, 'approved');
  t.equal((await remove(token, 'client-2')).body.code, 'token_unknown', 'another client\'s token is unknown');
  t.ok((await cardRow(token)).card_ciphertext);
  t.equal((await remove(token)).status, 204);
  await isDeleted(t, token, 'client_removed');
  t.equal((await remove(token)).status, 204, 'deleting twice is fine');
  const events = await deletionEvents(token);
  t.equal(events.length, 2);
  t.match(events[0], { outcome: 'success', actor: { id: 'gateway' }, details: { reason: 'client_removed' } });
  t.match(events[1], { outcome: 'success', details: { reason: 'client_removed', replay: true } });

  const again = await authorize(token);
  t.equal(again.status, 410);
  t.equal(again.body.code, 'card_deleted', 'a deleted card is refused with a clear code');
  t.same(await vault.db.selectFrom('vault.authorizations').select('id').where('token', '=', token).where('outcome', '<>', 'approved').execute(), [],
    'the refused attempt left no authorization');
  const replayed = await authorize(token, await paymentRefOf(paid.body.authorizationId));
  t.equal(replayed.body.authorizationId, paid.body.authorizationId, 'a repeat of a past payment still gets its first result');

  const refund = await vault.client.call<any>('POST', '/v1/refunds', {
    authorizationId: paid.body.authorizationId, amount: { value: 50000, currency: 'KZT' }, refundRef: ref('refund'),
  });
  t.equal(refund.status, 201, 'a refund of a past payment of a deleted card works (processor reference)');
  t.equal(refund.body.status, 'succeeded');
  t.equal((await remove('tok_unknown')).body.code, 'token_unknown');
});

async function paymentRefOf(authorizationId: string): Promise<string> {
  return (await vault.db.selectFrom('vault.authorizations').select('payment_ref').where('id', '=', authorizationId).executeTakeFirstOrThrow()).payment_ref;
}

t.test('SP-16: a deletion that locked the card first wins: the authorization waiting for it is refused, never made on a half-deleted card', async (t) => {
  const token = await tokenFor();
  clock.advance(RETENTION_WINDOW_MS + MINUTE);
  let pending: Promise<any> | undefined;
  const deleted = await vault.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - RETENTION_WINDOW_MS);
    const locked = (await lockUnusedCards(trx, cutoff, 10_000)).filter((c) => c.token === token);
    t.equal(locked.length, 1);
    // The authorization starts after the sweep's lock and before its deletion commits.
    pending = authorize(token);
    await untilSomeoneWaitsForALock();
    const event = vaultAuditEvent(clock, { identity: 'vault-retention' }, {
      action: 'vault.card.deleted', outcome: 'success', targets: { cardToken: token }, details: { reason: 'never_used' },
    });
    return tombstoneCards(trx, { reason: 'never_used', at: now, cutoff, events: new Map([[token, event]]) });
  });
  t.same(deleted, [token]);
  const res = await pending!;
  t.equal(res.status, 410);
  t.equal(res.body.code, 'card_deleted');
  t.same(await vault.db.selectFrom('vault.authorizations').select('id').where('token', '=', token).execute(), [], 'no authorization exists for it');
});

t.test('SP-16: an authorization that holds the card first wins: the sweep passes over it and keeps it once approved', async (t) => {
  const token = await tokenFor();
  clock.advance(RETENTION_WINDOW_MS + MINUTE);
  const sandbox = vault.ctx.processor;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let entered!: () => void;
  const inProcessor = new Promise<void>((resolve) => { entered = resolve; });
  vault.ctx.processor = { ...sandbox, authorize: async (request): Promise<ProcessorOutcome> => { entered(); await gate; return sandbox.authorize(request); } };
  t.teardown(() => { vault.ctx.processor = sandbox; });
  const pending = authorize(token);
  await inProcessor;
  await deleteUnusedCards(vault.ctx);
  t.ok((await cardRow(token)).card_ciphertext, 'the card in use is skipped');
  // The client's removal waits for the authorization instead.
  const removal = remove(token);
  await untilSomeoneWaitsForALock();
  release();
  t.equal((await pending).body.outcome, 'approved');
  vault.ctx.processor = sandbox;
  await deleteUnusedCards(vault.ctx);
  t.equal((await removal).status, 204);
  await isDeleted(t, token, 'client_removed');
  t.equal((await vault.db.selectFrom('vault.authorizations').select('outcome').where('token', '=', token).executeTakeFirstOrThrow()).outcome, 'approved',
    'the approval was made while the card was whole, and stays on record');
});

t.test('SP-16: sweeps racing authorizations of the same old cards: each card is either authorized and kept, or deleted and refused', async (t) => {
  const tokens = await Promise.all(Array.from({ length: 24 }, () => tokenFor()));
  clock.advance(RETENTION_WINDOW_MS + MINUTE);
  const results = await Promise.all([
    ...tokens.map((token) => authorize(token)),
    deleteUnusedCards(vault.ctx, { batchSize: 4 }),
    deleteUnusedCards(vault.ctx, { batchSize: 4 }),
  ]);
  let kept = 0;
  let refused = 0;
  for (const [i, token] of tokens.entries()) {
    const res = results[i] as Awaited<ReturnType<typeof authorize>>;
    const row = await cardRow(token);
    const auths = await vault.db.selectFrom('vault.authorizations').select('outcome').where('token', '=', token).execute();
    if (res.status === 200) {
      kept++;
      t.equal(res.body.outcome, 'approved');
      t.ok(row.card_ciphertext, 'an authorized card is whole');
      t.same(auths.map((a) => a.outcome), ['approved']);
    } else {
      refused++;
      t.equal(res.body.code, 'card_deleted');
      t.equal(row.card_ciphertext, null);
      t.same(auths, [], 'a refused authorization left nothing');
    }
  }
  t.equal(kept + refused, tokens.length);
  t.comment(`kept ${kept}, deleted ${refused}`);
  await deleteUnusedCards(vault.ctx);
  for (const token of tokens) {
    const row = await cardRow(token);
    const approved = await vault.db.selectFrom('vault.authorizations').select('id').where('token', '=', token).where('outcome', '=', 'approved').execute();
    t.equal(row.card_ciphertext === null, approved.length === 0, 'every card with an approval is kept, every other is deleted');
  }
});

t.test('SP-16: key rotation and retirement pass over deleted cards', async (t) => {
  const counts = await recordsPerVersion(vault.db);
  t.notOk(counts.has(null as unknown as number), 'a tombstone names no key version');
});

