// SP-16, SP-17 (PCI DSS 3.6.1, 3.7.4): versioned fingerprint keys. The key file (the original single
// key, or a ring) is checked at boot, naming its setting; `npm run vault:rotate-fingerprint-key`
// adds, activates, re-fingerprints and retires online; retirement is race-free (foreign key).
import t from 'tap';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { runToExit } from '../../test/support/processes.js';
import { changeFingerprintKeys, startTestVault, type TestVault } from '../../test/support/vault.js';
import { uncommitted, waitUntilBlocked } from '../../test/support/database.js';
import { loadVaultConfig } from '../src/config.js';
import { withNewestActive, withNewVersion } from '../src/crypto/fingerprint-key-file.js';
import { refingerprintAll } from '../src/fingerprint-rotation.js';
import { vaultAuditEvent } from '../src/audit.js';
import { insertCardsWithAudit } from '../src/storage/cards.repository.js';

const ROTATE = 'scripts/vault-rotate-fingerprint-key.ts';
const PAN = '4400430000000007';
const operator = { identity: 'operator:test' };

async function tokenize(vault: TestVault, pan: string, clientRef = 'c-1') {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef });
  if (res.status !== 201) throw new Error(`tokenize answered ${res.status}`);
  return res.body as { token: string; fingerprint: string; fingerprintVersion: number; otherFingerprints: string[] };
}

const hmac = (key: Buffer, pan: string) => createHmac('sha256', key).update(pan).digest('hex');
const ringKeys = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { active: number; keys: Record<string, string> };

t.test('SP-17: a vault with a bad or short fingerprint key file refuses to start, naming the setting', async (t) => {
  const vault = await startTestVault(t);
  const path = vault.env.VAULT_FINGERPRINT_KEY_FILE!;
  const key = () => randomBytes(32).toString('base64');
  const cases: [string, string, RegExp][] = [
    ['a 16-byte key', randomBytes(16).toString('base64'), /at least 32 random bytes/],
    ['an empty file', '', /must be base64/],
    ['not base64', 'not a key!', /must be base64/],
    ['broken JSON', '{"active": 1,', /neither a base64 key nor a JSON key ring/],
    ['a short key in a ring', JSON.stringify({ active: 1, keys: { 1: randomBytes(31).toString('base64') } }), /key version 1 must hold at least 32/],
    ['three keys', JSON.stringify({ active: 3, keys: { 1: key(), 2: key(), 3: key() } }), /2 keys at most/],
    ['an active version without its key', JSON.stringify({ active: 2, keys: { 1: key() } }), /"active" must name one of the versions/],
    ['a version 0', JSON.stringify({ active: 1, keys: { 0: key(), 1: key() } }), /must be a positive integer/],
  ];
  for (const [what, content, problem] of cases) {
    writeFileSync(path, content);
    t.throws(() => loadVaultConfig(vault.env), { name: 'ConfigError', message: /^invalid setting VAULT_FINGERPRINT_KEY_FILE: / }, what);
    t.throws(() => loadVaultConfig(vault.env), { message: problem }, `${what}: says what is wrong`);
  }
  const process = await runToExit('vault/src/server.ts', { ...vault.env, VAULT_FINGERPRINT_KEY_FILE: path, LOG_LEVEL: 'warn' });
  t.not(process.code, 0, 'the vault process stops');
  t.match(process.output, /invalid setting VAULT_FINGERPRINT_KEY_FILE: key version "0" must be a positive integer/, 'one line naming the setting');
});

t.test('SP-16: the original single-key file is version 1; the rotation command keeps its key as version 1 of the ring', async (t) => {
  const vault = await startTestVault(t);
  const path = vault.env.VAULT_FINGERPRINT_KEY_FILE!;
  const original = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  const before = await tokenize(vault, PAN);
  t.same([before.fingerprint, before.fingerprintVersion, before.otherFingerprints], [hmac(original, PAN), 1, []], 'HMAC-SHA256 under the file\'s key, version 1');

  const env = { ...vault.env, LOG_LEVEL: 'warn' };
  const add = await runToExit(ROTATE, env, ['--add']);
  t.equal(add.code, 0, add.output);
  const ring = ringKeys(path);
  t.equal(ring.active, 1);
  t.same(Object.keys(ring.keys), ['1', '2']);
  t.equal(ring.keys['1'], original.toString('base64'), 'version 1 is the original key');
  const v2 = Buffer.from(ring.keys['2']!, 'base64');
  t.equal(v2.length, 32);
});

t.test('SP-16, SP-17: rotation by the command: both fingerprints while it runs, re-fingerprinting, retirement refused until then', async (t) => {
  const vault = await startTestVault(t);
  const env = { ...vault.env, LOG_LEVEL: 'warn' };
  const path = vault.env.VAULT_FINGERPRINT_KEY_FILE!;
  const v1 = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  const old = await tokenize(vault, PAN, 'c-old');
  const gone = await tokenize(vault, '4400430000000023', 'c-gone');

  for (const step of ['--add', '--activate']) {
    const run = await runToExit(ROTATE, env, [step]);
    t.equal(run.code, 0, run.output);
    await changeFingerprintKeys(vault, (ring) => ring); // the restart the command asks for
  }
  const v2 = Buffer.from(ringKeys(path).keys['2']!, 'base64');
  const during = await tokenize(vault, PAN, 'c-new');
  t.same([during.fingerprint, during.fingerprintVersion, during.otherFingerprints], [hmac(v2, PAN), 2, [hmac(v1, PAN)]],
    'during the rotation: the active version\'s fingerprint and the other version\'s');

  const early = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(early.code, 1);
  t.match(early.output, /refused: 2 card\(s\) still use fingerprint key version 1/);
  t.same(Object.keys(ringKeys(path).keys), ['1', '2'], 'the file still holds version 1');

  // A deleted card (a tombstone) keeps no fingerprint of any version.
  t.equal((await vault.client.call('DELETE', `/v1/tokens/${gone.token}?clientRef=c-gone`)).status, 204);
  const refingerprint = await runToExit(ROTATE, env, ['--refingerprint']);
  t.equal(refingerprint.code, 0, refingerprint.output);
  t.match(refingerprint.output, /re-fingerprinted 1 card\(s\) under version 2/);
  const rows = await vault.db.selectFrom('vault.cards').select(['token', 'fingerprint', 'fingerprint_version', 'previous_fingerprint']).orderBy('created_at').execute();
  t.same(rows.find((r) => r.token === old.token), { token: old.token, fingerprint: hmac(v2, PAN), fingerprint_version: 2, previous_fingerprint: hmac(v1, PAN) });
  t.same(rows.find((r) => r.token === gone.token), { token: gone.token, fingerprint: null, fingerprint_version: null, previous_fingerprint: null });
  const page = await vault.client.call<any>('GET', '/v1/fingerprints/translations');
  t.same(page.body, { data: [{ from: hmac(v1, PAN), to: hmac(v2, PAN) }] }, 'the gateway is told each old value\'s new one, once');

  const retire = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(retire.code, 0, retire.output);
  t.same(ringKeys(path), { active: 2, keys: { 2: v2.toString('base64') } }, 'version 1 is gone from the key file');
  t.same((await vault.client.call<any>('GET', '/v1/fingerprints/translations')).body, { data: [] }, 'and its values from the vault');
  await changeFingerprintKeys(vault, (ring) => ring);
  t.same((await tokenize(vault, PAN, 'c-after')).otherFingerprints, [], 'one version again');
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((r) => (r.payload as any).action as string);
  for (const action of ['vault.fingerprint.add', 'vault.fingerprint.activate', 'vault.fingerprint.refingerprint', 'vault.fingerprint.retire', 'vault.fingerprint.translations']) {
    t.ok(events.includes(action), `${action} is audited`);
  }
});

t.test('SP-17: retiring is race-free: a card a stale vault writes under the old version during --retire is counted, and after it is refused', async (t) => {
  const vault = await startTestVault(t);
  const env = { ...vault.env, LOG_LEVEL: 'warn' };
  const real = await tokenize(vault, PAN);
  await changeFingerprintKeys(vault, withNewVersion);
  await changeFingerprintKeys(vault, withNewestActive);
  t.equal(await refingerprintAll(vault.db, vault.ctx.keys, vault.ctx.fingerprint, vault.clock, operator), 1, 'no card left on version 1');
  // Another host whose key file was never changed: it still fingerprints new cards under version 1.
  const stale = (token: string) => ({
    row: {
      token, client_ref: 'c-stale', fingerprint: real.fingerprint, fingerprint_version: 1, previous_fingerprint: null, brand: 'visa' as const,
      bin6: '440043', last4: '0007', issuer_country: 'KZ', card_ciphertext: Buffer.alloc(40), dek_wrapped: Buffer.alloc(60), kek_version: 1,
      created_at: vault.clock.now(),
    },
    event: vaultAuditEvent(vault.clock, { identity: 'gateway' }, { action: 'vault.card.tokenize', outcome: 'success', targets: { cardToken: token } }),
  });
  const writer = uncommitted(vault.db, (trx) => insertCardsWithAudit(trx, [stale('tok_stale_1')]));
  await writer.written;
  let exited = false;
  const retiring = runToExit(ROTATE, env, ['--retire', '1']).finally(() => { exited = true; });
  await waitUntilBlocked(vault.db, 'vault-rotate-fingerprint-key', () => exited);
  writer.commit();
  await writer.done;
  const refused = await retiring;
  t.equal(refused.code, 1, refused.output);
  t.match(refused.output, /refused: 1 card\(s\) still use fingerprint key version 1/);
  t.same(Object.keys(ringKeys(vault.env.VAULT_FINGERPRINT_KEY_FILE!).keys), ['1', '2'], 'version 1 stays in the key file');

  // The stale card stands for no real card (its ciphertext is zeros): it goes, and the retirement is let through.
  await vault.db.deleteFrom('vault.cards').where('token', '=', 'tok_stale_1').execute();
  const retired = await runToExit(ROTATE, env, ['--retire', '1']);
  t.equal(retired.code, 0, retired.output);
  await t.rejects(insertCardsWithAudit(vault.db, [stale('tok_stale_2')]), { code: '23503', constraint: 'cards_fingerprint_version_fkey' },
    'once version 1 is retired, the database refuses any card that names it');
});
