// SP-17 (PCI DSS 3.6.1.2, 3.7.4): `npm run vault:rotate-key` adds a KEK version and re-wraps every
// card online while tokenize and authorize keep running; afterwards every card still authorizes,
// none is lost, and the old version can be retired.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import { runToExit, startProcess } from '../../test/support/processes.js';
import { startTestVault, type TestVault } from '../../test/support/vault.js';
import { uncommitted, waitUntilBlocked } from '../../test/support/database.js';
import { addKekVersion, FileKeyProvider, removeKekVersion } from '../src/crypto/key-provider.js';
import { recordsPerVersion, rewrapAll } from '../src/rotation.js';
import { RegisteredKeyProvider } from '../src/kek-versions.js';
import { sealCard } from '../src/crypto/envelope.js';
import { vaultAuditEvent } from '../src/audit.js';
import { insertCardsWithAudit, type NewCard } from '../src/storage/cards.repository.js';

const ROTATE = 'scripts/vault-rotate-key.ts';
const PANS = ['4400430000000007', '4400430000000023', '5395450000000017'];
interface Card { token: string; clientRef: string }
let paymentN = 0;

async function tokenizeCard(vault: TestVault, pan: string, clientRef: string): Promise<Card> {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef });
  if (res.status !== 201) throw new Error(`tokenize answered ${res.status}`);
  return { token: res.body.token, clientRef };
}

/** Approval needs the card's data key unwrapped and its PAN decrypted. */
async function authorizeCard(vault: TestVault, card: Card): Promise<void> {
  const res = await vault.client.call<any>('POST', '/v1/authorizations', {
    ...card, cvv: '123', amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: `pay-${++paymentN}`,
  });
  if (res.status !== 200 || res.body.outcome !== 'approved') throw new Error(`authorize answered ${res.status} ${JSON.stringify(res.body)}`);
}

const kekVersionsInFile = (path: string) => Object.keys(JSON.parse(readFileSync(path, 'utf8')).keys).sort();

t.test('SP-17: rotation under load loses no card', async (t) => {
  const vault = await startTestVault(t);
  const env = { ...vault.env, VAULT_REWRAP_BATCH_SIZE: '20', LOG_LEVEL: 'warn' };
  const tokens: string[] = [];
  const owner = new Map<string, string>();
  const tokenize = async (i: number) => {
    const res = await vault.client.call<any>('POST', '/v1/tokens', { pan: PANS[i % PANS.length], expMonth: 12, expYear: 2030, cvv: '123', clientRef: `c-${i % 7}` });
    if (res.status !== 201) throw new Error(`tokenize answered ${res.status}`);
    tokens.push(res.body.token);
    owner.set(res.body.token, `c-${i % 7}`);
    return res.body.token as string;
  };
  const authorize = async (token: string, clientRef: string) => {
    const res = await vault.client.call<any>('POST', '/v1/authorizations', {
      token, clientRef, cvv: '123', amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: `p-${++paymentN}`,
    });
    if (res.status !== 200 || res.body.outcome !== 'approved') throw new Error(`authorize answered ${res.status} ${JSON.stringify(res.body)}`);
  };
  for (let i = 0; i < 150; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => tokenize(i + k)));

  // Load: new cards and authorizations of old ones, four at a time, until the rotation ends.
  let rotating = true;
  const failures: string[] = [];
  let operations = 0;
  const worker = async (w: number) => {
    for (let i = 0; rotating; i++) {
      try {
        const n = 1000 + w * 100_000 + i;
        const token = await tokenize(n);
        await authorize(token, `c-${n % 7}`);
        const old = tokens[(i * 7 + w) % 150]!;
        await authorize(old, owner.get(old)!);
        operations += 3;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const load = Promise.all([0, 1, 2, 3].map(worker));
  const rotation = await runToExit('scripts/vault-rotate-key.ts', env);
  rotating = false;
  await load;
  t.equal(rotation.code, 0, rotation.output);
  t.match(rotation.output, /added KEK version 2/);
  t.same(failures, [], `${operations} operations during the rotation, none failed`);
  t.ok(operations > 30, 'the load really ran alongside the rotation');

  const rows = await vault.db.selectFrom('vault.cards').select(['token', 'kek_version']).execute();
  t.equal(rows.length, tokens.length, 'no card lost');
  t.ok(rows.length >= 150, 'the 150 cards from before the rotation, and those made during it');
  t.same(new Set(rows.map((r) => r.token)), new Set(tokens));
  t.ok(rows.every((r) => r.kek_version === 2), 'every card is wrapped under version 2');

  const retire = await runToExit('scripts/vault-rotate-key.ts', env, ['--retire', '1']);
  t.equal(retire.code, 0, retire.output);
  t.same(Object.keys(JSON.parse(readFileSync(vault.kekFile, 'utf8')).keys), ['2'], 'version 1 is gone from the key file');

  for (let i = 0; i < tokens.length; i += 20) {
    await Promise.all(tokens.slice(i, i + 20).map((token) => authorize(token, owner.get(token)!)));
  }
  t.pass(`all ${tokens.length} cards authorize after version 1 is retired`);
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((r) => r.payload as any);
  t.ok(events.some((e) => e.action === 'vault.key.rotate' && e.targets.keyVersion === 2), 'rotation audited');
  t.ok(events.some((e) => e.action === 'vault.key.retire' && e.targets.keyVersion === 1), 'retirement audited');
});

t.test('SP-17: retiring a version that still wraps cards is refused; the key file and every card are untouched', async (t) => {
  const vault = await startTestVault(t);
  const cards = await Promise.all(PANS.map((pan, i) => tokenizeCard(vault, pan, `c-${i}`)));
  t.equal(addKekVersion(vault.kekFile), 2, 'version 2 is active, no card re-wrapped yet');
  const refused = await runToExit(ROTATE, { ...vault.env, LOG_LEVEL: 'warn' }, ['--retire', '1']);
  t.equal(refused.code, 1, refused.output);
  t.match(refused.output, /refused: 3 card\(s\) still use KEK version 1/);
  t.same(kekVersionsInFile(vault.kekFile), ['1', '2'], 'version 1 stays in the key file');
  // A running vault keeps the keys it loaded; a restarted one reads the file as it now is.
  await vault.stop();
  const restarted = await startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env });
  for (const card of cards) await authorizeCard(restarted, card);
  t.pass('every card still authorizes after a restart');
});

t.test('SP-17: the active version cannot be retired, even when no card uses it', async (t) => {
  const vault = await startTestVault(t);
  const refused = await runToExit(ROTATE, { ...vault.env, LOG_LEVEL: 'warn' }, ['--retire', '1']);
  t.equal(refused.code, 1, refused.output);
  t.match(refused.output, /KEK version 1 is the active version and cannot be retired/);
  t.same(kekVersionsInFile(vault.kekFile), ['1']);
});

t.test('SP-17: retiring is race-free: a card a stale vault writes under the old version during --retire is kept, and after it is refused', async (t) => {
  const vault = await startTestVault(t);
  const env = { ...vault.env, LOG_LEVEL: 'warn' };
  const first = await tokenizeCard(vault, PANS[0]!, 'c-0');
  // Another host whose key file never got version 2: it still wraps new cards under version 1.
  const staleFile = join(dirname(vault.kekFile), 'stale-kek.json');
  copyFileSync(vault.kekFile, staleFile);
  const stale = new RegisteredKeyProvider(new FileKeyProvider(staleFile), vault.db, vault.clock);
  const staleCard = async (token: string): Promise<NewCard> => {
    const pan = Buffer.from(PANS[0]!);
    const sealed = await sealCard(stale, { token, clientRef: 'c-0' }, { pan, expMonth: 12, expYear: 2030 });
    return {
      row: {
        token, client_ref: 'c-0', fingerprint: vault.ctx.fingerprint.active(pan), fingerprint_version: 1, previous_fingerprint: null, brand: 'visa', bin6: '440043', last4: '0007', issuer_country: 'KZ',
        card_ciphertext: sealed.cardCiphertext, dek_wrapped: sealed.dekWrapped, kek_version: sealed.kekVersion, created_at: vault.clock.now(),
      },
      event: vaultAuditEvent(vault.clock, { identity: 'gateway' }, { action: 'vault.card.tokenize', outcome: 'success', targets: { cardToken: token } }),
    };
  };
  t.equal(addKekVersion(vault.kekFile), 2);
  t.equal((await runToExit(ROTATE, env, ['--resume'])).code, 0, 'every card re-wrapped under version 2');

  // The stale host's card is written but not committed when --retire 1 starts counting.
  const card = await staleCard('tok_stale_1');
  t.equal(card.row.kek_version, 1);
  const writer = uncommitted(vault.db, (trx) => insertCardsWithAudit(trx, [card]));
  await writer.written;
  let exited = false;
  const retiring = runToExit(ROTATE, env, ['--retire', '1']).finally(() => { exited = true; });
  await waitUntilBlocked(vault.db, 'vault-rotate-key', () => exited);
  writer.commit();
  await writer.done;
  const refused = await retiring;
  t.equal(refused.code, 1, refused.output);
  t.match(refused.output, /refused: 1 card\(s\) still use KEK version 1/);
  t.same(kekVersionsInFile(vault.kekFile), ['1', '2'], 'version 1 stays in the key file');
  await vault.stop();
  const restarted = await startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env });
  for (const c of [first, { token: 'tok_stale_1', clientRef: 'c-0' }]) await authorizeCard(restarted, c);
  t.pass('the stale host\'s card and the others authorize');

  // Once version 1 is retired, the database refuses any card that names it.
  t.equal((await runToExit(ROTATE, env, ['--resume'])).code, 0);
  const retired = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(retired.code, 0, retired.output);
  t.same(kekVersionsInFile(vault.kekFile), ['2']);
  await t.rejects(insertCardsWithAudit(restarted.db, [await staleCard('tok_stale_2')]), /cards_kek_version_registered/);
  t.equal((await restarted.db.selectFrom('vault.cards').select('token').where('kek_version', '=', 1).execute()).length, 0, 'no card names version 1');
  const fresh = new RegisteredKeyProvider(new FileKeyProvider(staleFile), restarted.db, restarted.clock);
  await t.rejects(sealCard(fresh, { token: 'tok_stale_3', clientRef: 'c-0' }, { pan: Buffer.from(PANS[0]!), expMonth: 12, expYear: 2030 }),
    { name: 'KeyError', message: /KEK version 1 is older than a version the vault has registered/ }, 'nor registers it again');
});

t.test('SP-17: a re-wrap stopped part-way resumes: every card ends on the new version, none lost, every batch audited', async (t) => {
  const vault = await startTestVault(t);
  const cards: Card[] = [];
  for (let i = 0; i < 12; i++) cards.push(await tokenizeCard(vault, PANS[i % PANS.length]!, `c-${i % 5}`));
  t.equal(addKekVersion(vault.kekFile), 2);
  const stopAfterFirstBatch = () => { throw new Error('interrupted'); };
  const keys = new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile), vault.db, vault.clock);
  await t.rejects(rewrapAll(vault.db, keys, vault.clock, { identity: 'operator:test' }, {
    batchSize: 5, onBatch: stopAfterFirstBatch,
  }), /interrupted/);
  t.same(Object.fromEntries(await recordsPerVersion(vault.db)), { 1: 7, 2: 5 }, 'the first batch committed, then the run stopped');

  const resumed = await runToExit(ROTATE, { ...vault.env, VAULT_REWRAP_BATCH_SIZE: '5', LOG_LEVEL: 'warn' }, ['--resume']);
  t.equal(resumed.code, 0, resumed.output);
  t.match(resumed.output, /re-wrapped 7 card\(s\) under version 2/);
  const rows = await vault.db.selectFrom('vault.cards').select(['token', 'kek_version']).execute();
  t.same(new Set(rows.map((r) => r.token)), new Set(cards.map((c) => c.token)), 'no card lost, none added');
  t.same(rows.map((r) => r.kek_version), Array(12).fill(2), 'every card is wrapped under version 2');

  t.same(kekVersionsInFile(vault.kekFile), ['1', '2']);
  removeKekVersion(vault.kekFile, 1);
  await vault.stop();
  const restarted = await startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env });
  for (const card of cards) await authorizeCard(restarted, card);
  t.pass('every card authorizes with version 1 gone from the key file');

  const rewraps = (await restarted.db.selectFrom('vault.audit_outbox').select('payload').execute())
    .map((r) => r.payload as any).filter((e) => e.action === 'vault.key.rewrap');
  t.same(rewraps.map((e) => e.details.records as number).sort((x, y) => x - y), [2, 5, 5], 'one event per committed batch, the interrupted run\'s included');
  t.same(rewraps.map((e) => [e.targets.keyVersion, e.outcome]), Array(3).fill([2, 'success']));
});

t.test('SP-17: a card whose data key does not unwrap fails closed: no authorization, a clear error in the log', async (t) => {
  const lines: string[] = [];
  const vault = await startTestVault(t, { logStream: { write: (line: string) => { lines.push(line); } } });
  const card = await tokenizeCard(vault, PANS[0]!, 'c');
  // One flipped bit of the wrapped data key: GCM refuses it exactly as under a wrong KEK.
  await sql`update vault.cards set dek_wrapped = set_byte(dek_wrapped, 20, get_byte(dek_wrapped, 20) # 128) where token = ${card.token}`.execute(vault.db);
  await t.rejects(vault.client.call('POST', '/v1/authorizations', {
    ...card, cvv: '123', amount: { value: 1, currency: 'KZT' }, merchant: 'm', paymentRef: 'p-wrong-kek',
  }), { name: 'VaultUnavailable', message: /status 500/ });
  t.equal((await vault.db.selectFrom('vault.authorizations').select('id').execute()).length, 0, 'nothing authorized, nothing recorded');
  t.ok(lines.some((l) => l.includes('vault key failure') && l.includes('does not unwrap under KEK version 1')), 'the log names the failure and the version');
});

t.test('SP-17: a key file holding another key for a version the cards use stops the vault at boot, naming the version; the right key boots', async (t) => {
  const vault = await startTestVault(t);
  const card = await tokenizeCard(vault, PANS[0]!, 'c');
  t.equal(addKekVersion(vault.kekFile), 2);
  await new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile), vault.db, vault.clock).register(2);
  await vault.stop();
  const rightFile = readFileSync(vault.kekFile);
  const right = JSON.parse(rightFile.toString('utf8'));
  // Version 2, the active one, is right; version 1, which the card still uses, is another key.
  const wrongKey = randomBytes(32).toString('base64');
  writeFileSync(vault.kekFile, JSON.stringify({ ...right, keys: { ...right.keys, 1: wrongKey } }));
  const env = { ...vault.env, LOG_LEVEL: 'warn' };
  const refused: string = await startProcess(t, 'vault/src/server.ts', env).then(() => 'started', (err: Error) => err.message);
  t.match(refused, /exited 1/);
  t.match(refused, /vault cannot load its keys or data; refusing to start/);
  t.match(refused, /KEK version 1 fails its key check/);
  t.notOk([wrongKey, right.keys[1], right.keys[2]].some((k: string) => refused.includes(k.slice(0, 12))), 'no key material in the log');

  writeFileSync(vault.kekFile, rightFile);
  const booted = await startProcess(t, 'vault/src/server.ts', env);
  await booted.stop();
  const restarted = await startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env });
  await authorizeCard(restarted, card);
  t.pass('with the right key file the vault boots and the card authorizes');

  await restarted.stop();
  rmSync(vault.kekFile);
  await t.rejects(startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env }), /VAULT_KEK_FILE.*file not found/);
});

t.test('SP-17: a vault whose key file holds another key for a registered version will not wrap under it', async (t) => {
  const vault = await startTestVault(t);
  await tokenizeCard(vault, PANS[0]!, 'c');
  // Another host made its own version 2; this host's version 2 is registered first.
  const otherFile = join(dirname(vault.kekFile), 'other-kek.json');
  copyFileSync(vault.kekFile, otherFile);
  t.equal(addKekVersion(vault.kekFile), 2);
  t.equal(addKekVersion(otherFile), 2);
  await new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile), vault.db, vault.clock).register(2);
  const other = new RegisteredKeyProvider(new FileKeyProvider(otherFile), vault.db, vault.clock);
  await t.rejects(sealCard(other, { token: 'tok_other', clientRef: 'c' }, { pan: Buffer.from(PANS[0]!), expMonth: 12, expYear: 2030 }),
    { name: 'KeyError', message: /KEK version 2 fails its key check/ });
});

/** The version's key in `path` replaced by another key, as a hand edit or a wrong copy would. */
function replaceKey(path: string, version: number): void {
  const file = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...file, keys: { ...file.keys, [version]: randomBytes(32).toString('base64') } }));
}
const sealAs = (keys: RegisteredKeyProvider, token: string) =>
  sealCard(keys, { token, clientRef: 'c' }, { pan: Buffer.from(PANS[0]!), expMonth: 12, expYear: 2030 });

t.test('SP-17: a running vault whose key file is reloaded with another key for a registered version stops wrapping under it', async (t) => {
  const vault = await startTestVault(t);
  await tokenizeCard(vault, PANS[0]!, 'c');
  const keys = new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile, 0), vault.db, vault.clock);
  await sealAs(keys, 'tok_before');
  const right = readFileSync(vault.kekFile);
  replaceKey(vault.kekFile, 1);
  await t.rejects(sealAs(keys, 'tok_after'), { name: 'KeyError', message: /KEK version 1 fails its key check/ },
    'checked again after the reload, not trusted because version 1 was checked before');
  writeFileSync(vault.kekFile, right);
  await sealAs(keys, 'tok_restored');
});

t.test('SP-17: a version registered before check values gets its first one only from a key that opens its cards', async (t) => {
  const vault = await startTestVault(t);
  const card = await tokenizeCard(vault, PANS[0]!, 'c');
  // As a database migrated from before check values holds it.
  await sql`update vault.kek_versions set check_value = null`.execute(vault.db);
  const right = readFileSync(vault.kekFile);
  replaceKey(vault.kekFile, 1);
  const wrong = new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile, 0), vault.db, vault.clock);
  await t.rejects(wrong.register(1), { name: 'KeyError', message: /KEK version 1 fails its key check \(it does not unwrap the cards already under it\)/ });
  const stored = await vault.db.selectFrom('vault.kek_versions').select('check_value').where('version', '=', 1).executeTakeFirstOrThrow();
  t.equal(stored.check_value, null, 'the wrong key left no check value to lock the right one out');

  writeFileSync(vault.kekFile, right);
  await new RegisteredKeyProvider(new FileKeyProvider(vault.kekFile, 0), vault.db, vault.clock).register(1);
  const filled = await vault.db.selectFrom('vault.kek_versions').select('check_value').where('version', '=', 1).executeTakeFirstOrThrow();
  t.ok(filled.check_value, 'the right key fills it');
  await authorizeCard(vault, card);
});

t.test('SP-17: a retirement is audited with the database step, and a key file already without the version does not undo or block it', async (t) => {
  const vault = await startTestVault(t);
  await tokenizeCard(vault, PANS[0]!, 'c');
  t.equal(addKekVersion(vault.kekFile), 2);
  const env = { ...vault.env, DATABASE_URL: vault.databaseUrl };
  t.equal((await runToExit(ROTATE, env, ['--resume'])).code, 0);
  // Another host's operator already took version 1 out of this file.
  removeKekVersion(vault.kekFile, 1);
  const retire = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(retire.code, 0, retire.output);
  const again = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(again.code, 0, `running it again is harmless: ${again.output}`);
  const retired = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute())
    .map((r) => r.payload as any).filter((e) => e.action === 'vault.key.retire');
  t.same(retired.map((e) => e.targets.keyVersion), [1], 'one retirement, one event');
  t.same(kekVersionsInFile(vault.kekFile), ['2']);
});
