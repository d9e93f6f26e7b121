// SP-16 / PCI DSS 3.5–3.7: envelope encryption binds each ciphertext to its row, detects any change,
// and fails closed — with an error naming the key version — when the KEK is wrong or missing.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCard, sealCard, rewrapDataKey } from '../../src/crypto/envelope.js';
import { DecryptionFailed } from '../../src/crypto/encryption.js';
import { addKekVersion, FileKeyProvider, KeyError, readKekFile, removeKekVersion } from '../../src/crypto/key-provider.js';

function kekFile(t: { teardown(fn: () => unknown): void }, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'kek-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kek.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const key = () => randomBytes(32).toString('base64');
const card = (pan: string) => ({ pan: Buffer.from(pan), expMonth: 12, expYear: 2030 });
const a = { token: 'tok_a', clientRef: 'client-1' };
const b = { token: 'tok_b', clientRef: 'client-1' };

t.test('round trip; each card gets its own data key', async (t) => {
  const keys = new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: key() } }));
  const sealedA = await sealCard(keys, a, card('4400430000000007'));
  const sealedB = await sealCard(keys, b, card('4400430000000007'));
  t.equal(sealedA.kekVersion, 1, 'the record names its KEK version');
  t.not(sealedA.dekWrapped.toString('hex'), sealedB.dekWrapped.toString('hex'));
  const plain = await openCard(keys, a, sealedA);
  t.equal(plain.pan.toString(), '4400430000000007');
  t.same([plain.expMonth, plain.expYear], [12, 2030]);
});

t.test('a ciphertext swapped between two rows, or a row moved to another client, fails to decrypt', async (t) => {
  const keys = new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: key() } }));
  const sealedA = await sealCard(keys, a, card('4400430000000007'));
  const sealedB = await sealCard(keys, b, card('4400430000000015'));
  await t.rejects(openCard(keys, b, { ...sealedB, cardCiphertext: sealedA.cardCiphertext }), DecryptionFailed, 'card ciphertext of A in row B');
  await t.rejects(openCard(keys, b, sealedA), KeyError, 'both columns of A moved to row B');
  await t.rejects(openCard(keys, { ...a, clientRef: 'client-2' }, sealedA), KeyError, 'row reassigned to another client');
});

t.test('a flipped byte in either column fails (GCM)', async (t) => {
  const keys = new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: key() } }));
  const sealed = await sealCard(keys, a, card('4400430000000007'));
  const flip = (buf: Buffer, at: number) => { const c = Buffer.from(buf); c[at]! ^= 0x80; return c; };
  await t.rejects(openCard(keys, a, { ...sealed, cardCiphertext: flip(sealed.cardCiphertext, 14) }), DecryptionFailed);
  await t.rejects(openCard(keys, a, { ...sealed, dekWrapped: flip(sealed.dekWrapped, 20) }), KeyError);
});

t.test('a wrong or missing KEK fails closed with a clear error', async (t) => {
  const good = new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: key() } }));
  const sealed = await sealCard(good, a, card('4400430000000007'));
  const wrong = new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: key() } }));
  await t.rejects(openCard(wrong, a, sealed), { name: 'KeyError', message: /does not unwrap under KEK version 1: wrong KEK/ });
  const other = new FileKeyProvider(kekFile(t, { active: 2, keys: { 2: key() } }));
  await t.rejects(openCard(other, a, sealed), { name: 'KeyError', message: /KEK version 1 is not loaded/ });
  t.throws(() => new FileKeyProvider(join(tmpdir(), 'no-such-kek.json')), { name: 'KeyError', message: /cannot be read/ });
  t.throws(() => new FileKeyProvider(kekFile(t, '{not json')), KeyError);
  t.throws(() => new FileKeyProvider(kekFile(t, { active: 1, keys: { 1: randomBytes(16).toString('base64') } })), /32-byte key/);
  t.throws(() => new FileKeyProvider(kekFile(t, { active: 2, keys: { 1: key() } })), /active version 2 has no key/);
});

t.test('SP-17: a KEK file deleted while the vault runs raises a KeyError naming the file', async (t) => {
  const path = kekFile(t, { active: 1, keys: { 1: key() } });
  const keys = new FileKeyProvider(path, 0);
  const sealed = await sealCard(keys, a, card('4400430000000007'));
  rmSync(path);
  const failure = { name: 'KeyError', message: new RegExp(`KEK file ${path} cannot be read: ENOENT`) };
  t.throws(() => keys.activeVersion(), failure);
  await t.rejects(sealCard(keys, b, card('4400430000000007')), failure);
  await t.rejects(openCard(keys, a, sealed), failure);
});

t.test('SP-17: a corrupted KEK file is refused without quoting its content', async (t) => {
  const secret = key();
  const path = kekFile(t, `{"active": 1, "keys": {"1": ${secret}}}`);
  let message = '';
  try {
    readKekFile(path);
  } catch (err) {
    t.type(err, KeyError);
    message = (err as Error).message;
  }
  t.match(message, new RegExp(`^KEK file ${path} is not valid JSON$`));
  t.notOk(message.includes(secret.slice(0, 4)), 'no key material in the message');
});

t.test('rotation: a new version wraps new cards, re-wrapping keeps old cards readable, retiring refuses the active one', async (t) => {
  const path = kekFile(t, { active: 1, keys: { 1: key() } });
  const keys = new FileKeyProvider(path, 0);
  const sealed = await sealCard(keys, a, card('4400430000000007'));
  t.equal(addKekVersion(path), 2);
  t.equal(keys.activeVersion(), 2, 'a running provider notices the new version');
  const rewrapped = await rewrapDataKey(keys, a, { kekVersion: 1, wrapped: sealed.dekWrapped });
  t.equal(rewrapped.kekVersion, 2);
  removeKekVersion(path, 1);
  t.same([...readKekFile(path).keys.keys()], [2]);
  const plain = await openCard(keys, a, { ...sealed, dekWrapped: rewrapped.wrapped, kekVersion: 2 });
  t.equal(plain.pan.toString(), '4400430000000007', 'the unchanged card ciphertext opens under the re-wrapped key');
  await t.rejects(openCard(keys, a, sealed), /KEK version 1 is not loaded/, 'the retired version is gone');
  t.throws(() => removeKekVersion(path, 2), /active version/);
});
