// SP-17 (PCI DSS 3.6.1, 3.7): the vault's KEKs in a PKCS#11 token (SoftHSM2 here): cards are
// tokenized and authorized with data keys wrapped inside the token, the key cannot be read out of
// it, rotation re-wraps every card and retirement destroys the old key; a wrong PIN, a missing
// token, library or key stops the vault naming the setting; a key that is not the one the cards
// were wrapped with fails its key check at boot.
import t from 'tap';
import pkcs11js from 'pkcs11js';
import { runToExit } from '../../test/support/processes.js';
import { startTestVault, startVaultProcess, type TestVault } from '../../test/support/vault.js';
import { softHsmAvailable, SOFTHSM_LIBRARY, useSoftHsm } from '../../test/support/softhsm.js';
import { loadVaultConfig } from '../src/config.js';
import { createKeyProvider } from '../src/context.js';
import { Pkcs11KeyProvider } from '../src/crypto/pkcs11-key-provider.js';
import { Secret } from '../../lib/secret.js';
import { readFileSync } from 'node:fs';
import { testDataDir } from '../../test/support/pki.js';

if (!softHsmAvailable()) {
  t.comment(`SoftHSM2 is not installed (${SOFTHSM_LIBRARY}); .ci/run installs the softhsm2 package`);
  if (process.env.CI) t.fail('SoftHSM2 missing under CI');
  process.exit(0);
}

const hsm = useSoftHsm(t);
// SoftHSM lists the tokens present when this process first initializes it: all are made up front.
const TOKENS = Object.fromEntries(['e2e', 'rotate', 'closed', 'kcv', 'leaky'].map((label) => [label, hsm.createToken(label)]));
const WRONG_PIN = hsm.createToken('wrong-pin', 'right-pin');
const ROTATE = 'scripts/vault-rotate-key.ts';
const PANS = ['4400430000000007', '4400430000000023', '5395450000000017'];
let paymentN = 0;

/** A token holding KEK version 1, generated inside it; returns the vault settings that open it. */
function tokenWithKek(label: string): Record<string, string> {
  const env = TOKENS[label]!;
  const provider = providerFor(env, { allowEmpty: true });
  provider.addVersion();
  provider.close();
  return env;
}

/** A session of the test's own on a token, as an operator's tool would open one. */
function openToken(label: string, readWrite: boolean) {
  const p = new pkcs11js.PKCS11();
  p.load(SOFTHSM_LIBRARY);
  try {
    p.C_Initialize();
  } catch (err) {
    if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test((err as Error).message)) throw err;
  }
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
  if (!slot) throw new Error(`no token ${label}`);
  return { p, session: p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | (readWrite ? pkcs11js.CKF_RW_SESSION : 0)) };
}

function providerFor(env: Record<string, string>, opts: { allowEmpty?: boolean } = {}) {
  return new Pkcs11KeyProvider({
    library: env.VAULT_PKCS11_LIBRARY!, tokenLabel: env.VAULT_PKCS11_TOKEN_LABEL!, keyLabel: env.VAULT_PKCS11_KEY_LABEL ?? 'vault-kek',
    pin: new Secret(readFileSync(env.VAULT_PKCS11_PIN_FILE!)),
  }, opts);
}

async function tokenize(vault: TestVault, pan: string, clientRef: string) {
  const res = await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef });
  if (res.status !== 201) throw new Error(`tokenize answered ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.token as string, clientRef };
}

async function authorize(vault: TestVault, card: { token: string; clientRef: string }) {
  return vault.client.call<any>('POST', '/v1/authorizations', {
    ...card, cvv: '123', amount: { value: 100, currency: 'KZT' }, merchant: 'm', paymentRef: `pay-${++paymentN}`,
  });
}

t.test('SP-17: tokenize and authorize end to end with the KEK inside the token, which never lets it out', async (t) => {
  const env = tokenWithKek('e2e');
  const vault = await startTestVault(t, { env });
  const cards = await Promise.all(PANS.map((pan, i) => tokenize(vault, pan, `c-${i}`)));
  for (const card of cards) {
    const res = await authorize(vault, card);
    t.equal(res.status, 200);
    t.equal(res.body.outcome, 'approved', 'the PAN decrypted with a data key the token unwrapped');
  }
  const rows = await vault.db.selectFrom('vault.cards').select(['kek_version', 'dek_wrapped']).execute();
  t.ok(rows.every((r) => r.kek_version === 1 && r.dek_wrapped!.length === 12 + 32 + 16), 'every data key wrapped by AES-GCM under version 1');

  // Whoever holds the PIN still cannot read the key: CKA_VALUE is refused, and so is wrapping it out.
  const { p, session } = openToken('e2e', false);
  p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'vault-kek.1' }]);
  const [handle] = p.C_FindObjects(session, 2);
  p.C_FindObjectsFinal(session);
  t.ok(handle, 'the KEK is a token object');
  t.throws(() => p.C_GetAttributeValue(session, handle!, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/, 'its value cannot be read');
  const attrs = p.C_GetAttributeValue(session, handle!, [{ type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SENSITIVE }]);
  t.same(attrs.map((a) => (a.value as Buffer)[0]), [0, 1], 'CKA_EXTRACTABLE false, CKA_SENSITIVE true');
  p.C_CloseSession(session);
});

t.test('SP-17: rotation in the token re-wraps every card; retiring destroys the old key; every card still authorizes', async (t) => {
  const env = tokenWithKek('rotate');
  const vault = await startTestVault(t, { env });
  const cards = [];
  for (let i = 0; i < 9; i++) cards.push(await tokenize(vault, PANS[i % 3]!, `c-${i}`));
  const scriptEnv = { ...vault.env, LOG_LEVEL: 'warn', VAULT_REWRAP_BATCH_SIZE: '4' };
  const rotation = await runToExit(ROTATE, scriptEnv);
  t.equal(rotation.code, 0, rotation.output);
  t.match(rotation.output, /added KEK version 2 to token "rotate"/);
  t.match(rotation.output, /check value [0-9A-F]{6}/);
  const versions = await vault.db.selectFrom('vault.cards').select('kek_version').execute();
  t.ok(versions.every((r) => r.kek_version === 2), 'every card re-wrapped under version 2');
  cards.push(await tokenize(vault, PANS[0]!, 'c-new'));
  t.equal((await vault.db.selectFrom('vault.cards').select('kek_version').where('client_ref', '=', 'c-new').executeTakeFirstOrThrow()).kek_version, 2,
    'the running vault wraps new cards under the token\'s new version');

  const retire = await runToExit(ROTATE, scriptEnv, ['--retire', '1']);
  t.equal(retire.code, 0, retire.output);
  const provider = providerFor(env);
  t.same(provider.versions(), [2], 'version 1 is destroyed in the token');
  provider.close();
  for (const card of cards) t.equal((await authorize(vault, card)).body.outcome, 'approved');
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((r) => r.payload as any);
  t.ok(events.some((e) => e.action === 'vault.key.rotate' && e.targets.keyVersion === 2), 'rotation audited');
  t.ok(events.some((e) => e.action === 'vault.key.retire' && e.targets.keyVersion === 1), 'retirement audited');
});

t.test('SP-17: the vault fails closed, naming the setting, on a wrong PIN, a missing token, library or key', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://pgw_vault@127.0.0.1:5432/test' };
  const good = tokenWithKek('closed');
  const wrongPin = WRONG_PIN;
  const openWith = (env: Record<string, string>) => () => createKeyProvider(loadVaultConfig({ ...base, ...env })).close();
  t.throws(openWith({ ...wrongPin, VAULT_PKCS11_PIN_FILE: hsm.pinFile('not-the-pin') }),
    { name: 'ConfigError', message: /^invalid setting VAULT_PKCS11_PIN_FILE: token "wrong-pin" refused the login \(CKR_PIN_INCORRECT\)/ });
  t.throws(openWith({ ...good, VAULT_PKCS11_TOKEN_LABEL: 'no-such-token' }),
    { message: /^invalid setting VAULT_PKCS11_TOKEN_LABEL: no token labelled "no-such-token"/ });
  t.throws(openWith({ ...good, VAULT_PKCS11_KEY_LABEL: 'other-kek' }),
    { message: /^invalid setting VAULT_PKCS11_KEY_LABEL: token "closed" holds no AES key labelled "other-kek.<version>"/ });
  t.throws(openWith({ ...good, VAULT_PKCS11_LIBRARY: '/nonexistent/libpkcs11.so' }), { message: /^invalid setting VAULT_PKCS11_LIBRARY: file not found/ });
  t.throws(openWith({ ...good, VAULT_PKCS11_LIBRARY: '/etc/hostname' }), { message: /^invalid setting VAULT_PKCS11_LIBRARY: cannot load the PKCS#11 module/ });
  const { VAULT_PKCS11_PIN_FILE: _, ...noPin } = good;
  t.throws(openWith(noPin), { message: /^invalid setting VAULT_PKCS11_PIN_FILE: is required/ });

  // The real process: it stops before listening, its one fatal line naming the setting.
  const started = startVaultProcess(t, { ...wrongPin, VAULT_PKCS11_PIN_FILE: hsm.pinFile('still-not-it') });
  await t.rejects(started, /exited 1:[^]*invalid setting VAULT_PKCS11_PIN_FILE: token \\?"wrong-pin\\?" refused the login \(CKR_PIN_INCORRECT\)/);
});

t.test('SP-17: a key the token lets out is refused', async (t) => {
  const env = TOKENS.leaky!;
  const { p, session } = openToken('leaky', true);
  p.C_Login(session, pkcs11js.CKU_USER, 'user-leaky-pin');
  p.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_SENSITIVE, value: false }, { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: true }, { type: pkcs11js.CKA_DECRYPT, value: true }, { type: pkcs11js.CKA_LABEL, value: 'vault-kek.1' },
  ]);
  p.C_CloseSession(session);
  t.throws(() => providerFor(env), { name: 'KeyError', message: /KEK "vault-kek.1" in token "leaky" could leave the token/ });
});

t.test('SP-17: the key check value is checked at boot: another key under a version\'s label stops the vault', async (t) => {
  const env = tokenWithKek('kcv');
  const vault = await startTestVault(t, { env });
  const card = await tokenize(vault, PANS[0]!, 'c-0');
  const provider = providerFor(env);
  const before = provider.checkValue(1);
  t.match(before, /^[0-9A-F]{6}$/);
  await vault.stop();
  // An operator replaces version 1 with a key of the same label (a wrong backup restored).
  provider.addVersion();
  provider.removeVersion(1);
  const imposter = providerFor(env, { allowEmpty: true });
  provider.close();
  t.same(imposter.versions(), [2]);
  imposter.close();
  const { p, session } = openToken('kcv', true);
  p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'vault-kek.2' }]);
  const [handle] = p.C_FindObjects(session, 1);
  p.C_FindObjectsFinal(session);
  p.C_SetAttributeValue(session, handle!, [{ type: pkcs11js.CKA_LABEL, value: 'vault-kek.1' }, { type: pkcs11js.CKA_ID, value: Buffer.from('1') }]);
  p.C_CloseSession(session);
  const relabelled = providerFor(env);
  t.not(relabelled.checkValue(1), before, 'version 1 is now another key');
  relabelled.close();
  await t.rejects(startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env }),
    { name: 'KeyError', message: /KEK version 1 fails its key check/ }, 'the boot check refuses it');
  t.ok(card.token);
});
