// SP-15.3, SP-16, SP-17 across a fingerprint key rotation (vault/README.md "Fingerprint key
// rotation"): add a version, activate it, re-fingerprint the vault's cards, translate the gateway's
// stored fingerprints, retire the old version. A card counts once however many of these steps lie
// between its payments; the vault restarts between steps are changeFingerprintKeys.
import { readFileSync, writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { changeFingerprintKeys, startTestVault, type TestVault } from '../../../test/support/vault.js';
import { fingerprinter, type FingerprintKeyRing } from '../../../vault/src/crypto/fingerprint.js';
import { withNewestActive, withNewVersion, withoutVersion } from '../../../vault/src/crypto/fingerprint-key-file.js';
import { refingerprintAll, retireFingerprintVersion } from '../../../vault/src/fingerprint-rotation.js';
import { countByFingerprintVersion } from '../../../vault/src/storage/fingerprints.repository.js';
import { translateFingerprints } from '../../src/payments/fingerprint-translation.js';
import { create, entered, kzCard, newClient, pay, paymentBody, paymentsWorld, relogin, type World } from './world.js';

const operator = { identity: 'operator:test' };

async function monthCards(w: World, clientId: string) {
  const r = await sql<{ month: string; fingerprints: string[] }>`
    select to_char(month, 'YYYY-MM-DD') as month, fingerprints from gateway.card_months where client_id = ${clientId} order by month`.execute(w.gw.db);
  return r.rows;
}

const fingerprintsOf = (ring: FingerprintKeyRing, pan: string) => fingerprinter(ring).all(Buffer.from(pan));

/** Steps 1 and 2: a new version is added (every vault names cards under both), then made active. */
async function startRotation(vault: TestVault): Promise<FingerprintKeyRing> {
  await changeFingerprintKeys(vault, withNewVersion);
  return changeFingerprintKeys(vault, withNewestActive);
}

/** Steps 3 to 5: re-fingerprint the vault's cards, translate the gateway's, retire version 1. */
async function finishRotation(t: Test, w: World): Promise<FingerprintKeyRing> {
  const { vault } = w;
  await refingerprintAll(vault.db, vault.ctx.keys, vault.ctx.fingerprint, vault.clock, operator);
  await translateFingerprints(w.gw.db, vault.client);
  t.same(await retireFingerprintVersion(vault.db, vault.clock, operator, 1), { retired: true }, 'version 1 retired');
  return changeFingerprintKeys(vault, (ring) => withoutVersion(ring, 1));
}

t.test('SP-15.3, SP-17: a card entered before and after the switch counts once; a different card still counts; retirement keeps the count', async (t) => {
  const w = await paymentsWorld(t);
  const { gw, vault } = w;
  let c = await newClient(gw);
  const [a, b, fresh, fourth] = [kzCard(), kzCard(), kzCard(), kzCard()];
  for (const pan of [a, b]) t.equal((await pay(gw, c, entered(pan))).confirmed.status, 'succeeded', 'paid under version 1');

  await changeFingerprintKeys(vault, withNewVersion);
  t.equal((await create(gw, c, paymentBody(entered(a)))).statusCode, 201, 'version 2 added, not active: card A again');
  const ring = await changeFingerprintKeys(vault, withNewestActive);
  const [fa, fb] = [fingerprintsOf(ring, a), fingerprintsOf(ring, b)];
  t.equal(fa.version, 2);
  t.equal((await create(gw, c, paymentBody(entered(a)))).statusCode, 201, 'version 2 active: card A again');
  t.same((await monthCards(w, c.clientId))[0]?.fingerprints, [fa.fingerprint, fb.other!.fingerprint],
    'still 2 cards; A is kept under version 2, B (not seen since) under version 1');
  const saved = await gw.db.selectFrom('gateway.cards').select(['fingerprint']).where('client_id', '=', c.clientId).execute();
  t.same(saved.map((r) => r.fingerprint).sort(), [fa.fingerprint, fb.other!.fingerprint].sort(), 'one saved row per card: A\'s took the version 2 value');

  const listed = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth })).json().data as { id: string; last4: string }[];
  const savedB = listed.find((card) => card.last4 === b.slice(-4))!;
  t.equal((await pay(gw, c, { cardId: savedB.id })).confirmed.status, 'succeeded', 'saved card B (stored under version 1) pays, still one of the 2');
  t.equal((await create(gw, c, paymentBody(entered(fresh)))).statusCode, 201, 'a different card is the 3rd');
  t.equal((await create(gw, c, paymentBody(entered(fourth)))).json().code, 'card_limit_reached', 'and a 4th is refused');

  const after = await finishRotation(t, w);
  t.same([...await countByFingerprintVersion(vault.db)].map(([v]) => v), [2], 'every live card of the vault is under version 2');
  t.same(await vault.db.selectFrom('vault.fingerprint_key_versions').select('version').execute(), [{ version: 2 }], 'version 1 is unregistered');
  const v1 = [fa.other!.fingerprint, fb.other!.fingerprint];
  const stored = [...(await monthCards(w, c.clientId))[0]!.fingerprints,
    ...(await gw.db.selectFrom('gateway.cards').select('fingerprint').where('client_id', '=', c.clientId).execute()).map((r) => r.fingerprint)];
  t.notOk(stored.some((f) => v1.includes(f)), 'the gateway keeps no version 1 value');
  t.equal((await monthCards(w, c.clientId))[0]!.fingerprints.length, 3);

  c = await relogin(gw, c);
  t.equal(fingerprintsOf(after, b).other, undefined, 'the vault names B under version 2 only');
  t.equal((await create(gw, c, paymentBody(entered(b)))).statusCode, 201, 'B, last seen under version 1, re-entered after retirement: still one of the 3');
  t.equal((await create(gw, c, paymentBody(entered(a)))).statusCode, 201, 'A too');
  t.equal((await create(gw, c, paymentBody(entered(fourth)))).json().code, 'card_limit_reached', 'a 4th card is still refused');
  t.equal((await pay(gw, c, { cardId: savedB.id })).confirmed.status, 'succeeded', 'saved card B, translated, pays');
  t.equal((await gw.db.selectFrom('gateway.cards').select('id').where('client_id', '=', c.clientId).execute()).length, 3, 'no card saved twice');
});

t.test('SP-15.3: across an Almaty month boundary during the rotation, each month counts its own cards once', async (t) => {
  const w = await paymentsWorld(t, { start: '2026-11-30T18:30:00Z' }); // 23:30 on 30 November in Almaty
  const { gw, vault, clock } = w;
  let c = await newClient(gw);
  const [a, b, d, e] = [kzCard(), kzCard(), kzCard(), kzCard()];
  for (const pan of [a, b, d]) t.equal((await create(gw, c, paymentBody(entered(pan)))).statusCode, 201, 'November, version 1');
  const ring = await startRotation(vault);
  clock.set('2026-11-30T18:59:00Z'); // 23:59 in Almaty: still November
  c = await relogin(gw, c); // sessions idle out after 15 minutes
  t.equal((await create(gw, c, paymentBody(entered(a)))).statusCode, 201, 'November, version 2: A again');
  t.equal((await create(gw, c, paymentBody(entered(e)))).json().code, 'card_limit_reached', 'November still has its 3');

  clock.set('2026-11-30T19:30:00Z'); // 00:30 on 1 December in Almaty
  c = await relogin(gw, c);
  for (const pan of [a, b, e]) t.equal((await create(gw, c, paymentBody(entered(pan)))).statusCode, 201, 'December: 3 cards');
  t.equal((await create(gw, c, paymentBody(entered(d)))).json().code, 'card_limit_reached', 'December\'s 4th is refused');
  const months = await monthCards(w, c.clientId);
  t.same(months.map((m) => [m.month, m.fingerprints.length]), [['2026-11-01', 3], ['2026-12-01', 3]]);

  await refingerprintAll(vault.db, vault.ctx.keys, vault.ctx.fingerprint, vault.clock, operator);
  await translateFingerprints(gw.db, vault.client);
  const v2 = (pan: string) => fingerprintsOf(ring, pan).fingerprint;
  t.same((await monthCards(w, c.clientId)).map((m) => m.fingerprints),
    [[v2(a), v2(b), v2(d)], [v2(a), v2(b), v2(e)]], 'both months translated to version 2, each card once');
  c = await relogin(gw, c);
  t.equal((await create(gw, c, paymentBody(entered(b)))).statusCode, 201, 'B in December after translation: still one of the 3');
});

t.test('SP-15.3: concurrent payments during the switch cannot exceed 3 cards', async (t) => {
  const w = await paymentsWorld(t);
  const { gw, vault } = w;
  const c = await newClient(gw);
  const [a, b] = [kzCard(), kzCard()];
  for (const pan of [a, b]) t.equal((await create(gw, c, paymentBody(entered(pan)))).statusCode, 201, 'version 1');
  await startRotation(vault);
  const newCards = Array.from({ length: 6 }, () => kzCard());
  const results = await Promise.all([
    ...Array.from({ length: 4 }, () => create(gw, c, paymentBody(entered(a)))),
    ...newCards.map((pan) => create(gw, c, paymentBody(entered(pan)))),
  ]);
  t.same(results.slice(0, 4).map((r) => r.statusCode), [201, 201, 201, 201], 'card A, re-entered 4 times at once, is one card');
  t.same(results.slice(4).map((r) => r.statusCode).sort(), [201, 422, 422, 422, 422, 422], 'exactly one new card gets in');
  t.equal((await monthCards(w, c.clientId))[0]!.fingerprints.length, 3);
  t.equal((await gw.db.selectFrom('gateway.cards').select('id').where('client_id', '=', c.clientId).execute()).length, 3, '3 saved cards');
});

t.test('SP-16: a retry during the rotation gets the first answer, and no second payment', async (t) => {
  const w = await paymentsWorld(t);
  const { gw, vault } = w;
  const c = await newClient(gw);
  const body = paymentBody(entered(kzCard()));
  const first = await create(gw, c, body, { 'idempotency-key': 'rotating' });
  t.equal(first.statusCode, 201, 'first attempt, digested with the version 1 fingerprint');
  await startRotation(vault);
  const retry = await create(gw, c, body, { 'idempotency-key': 'rotating' });
  t.equal(retry.statusCode, 201);
  t.equal(retry.headers['idempotent-replayed'], 'true', 'replayed, not refused as another request');
  t.same(retry.json(), first.json());
  await refingerprintAll(vault.db, vault.ctx.keys, vault.ctx.fingerprint, vault.clock, operator);
  await translateFingerprints(gw.db, vault.client);
  t.equal((await create(gw, c, body, { 'idempotency-key': 'rotating' })).headers['idempotent-replayed'], 'true', 'after re-fingerprinting too');
  const other = await create(gw, c, paymentBody(entered(kzCard())), { 'idempotency-key': 'rotating' });
  t.equal(other.json().code, 'idempotency_conflict', 'another card with the same key is still a 409');
  t.equal((await gw.db.selectFrom('gateway.payments').select('id').where('client_id', '=', c.clientId).execute()).length, 1, 'one payment');
});

t.test('SP-17: a vault restarted with the retired version active refuses to start, naming the setting', async (t) => {
  const vault = await startTestVault(t);
  const before = readFileSync(vault.env.VAULT_FINGERPRINT_KEY_FILE!, 'utf8');
  await startRotation(vault);
  await refingerprintAll(vault.db, vault.ctx.keys, vault.ctx.fingerprint, vault.clock, operator);
  t.same(await retireFingerprintVersion(vault.db, vault.clock, operator, 1), { retired: true });
  writeFileSync(vault.env.VAULT_FINGERPRINT_KEY_FILE!, before);
  await t.rejects(startTestVault(t, { databaseUrl: vault.databaseUrl, env: { VAULT_FINGERPRINT_KEY_FILE: vault.env.VAULT_FINGERPRINT_KEY_FILE! } }),
    { name: 'ConfigError', message: /^invalid setting VAULT_FINGERPRINT_KEY_FILE: its active version 1 was retired/ });
});
