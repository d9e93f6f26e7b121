// Known answers for the audit crypto (style: a published vector, a round trip, a wrong key).
import t from 'tap';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { canonicalJson } from '../../lib/audit/canonical-json.js';
import { createSigner, GENESIS_HASH, loadPublicKey, MerkleTree, recordHash, verifyMerklePath, verifySigned } from '../../lib/audit/chain.js';
import { testPublicKey, testSigner } from './support.js';

t.test('RFC 8785 canonical JSON', async (t) => {
  // RFC 8785 §3.2.2 example (numbers, escapes, key order) and §3.2.3 (UTF-16 key order).
  t.equal(canonicalJson({ numbers: [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/', literals: [null, true, false] }),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  t.equal(canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  t.throws(() => canonicalJson({ x: Number.NaN }), { name: 'TypeError', message: /no NaN or Infinity/ });
});

t.test('record hash: SHA-256 over tag, previous hash and canonical JSON', async (t) => {
  const record = { seq: 1, recordedAt: '2026-11-24T10:00:00.000Z', source: 'gateway' as const, event: { a: 1 } as never };
  const expected = createHash('sha256').update('pgw-audit-record-v1\n').update(GENESIS_HASH)
    .update('{"event":{"a":1},"recordedAt":"2026-11-24T10:00:00.000Z","seq":1,"source":"gateway"}').digest();
  t.same(recordHash(GENESIS_HASH, record), expected);
  t.not(recordHash(Buffer.alloc(32, 1), record).toString('hex'), expected.toString('hex'), 'the previous hash is bound');
});

t.test('RFC 9162 Merkle tree: roots and audit paths', async (t) => {
  // The RFC 6962 test vectors (certificate-transparency-go merkle tests): leaves are these byte strings.
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
  t.equal(new MerkleTree(leaves.slice(0, 1)).root.toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  t.equal(new MerkleTree(leaves.slice(0, 5)).root.toString('hex'), '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4');
  t.equal(new MerkleTree(leaves).root.toString('hex'), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  for (let size = 1; size <= leaves.length; size++) {
    const tree = new MerkleTree(leaves.slice(0, size));
    for (let i = 0; i < size; i++) {
      t.ok(verifyMerklePath(leaves[i]!, i, size, tree.path(i), tree.root), `path ${i} of ${size}`);
      if (size > 1) t.notOk(verifyMerklePath(leaves[(i + 1) % size]!, i, size, tree.path(i), tree.root), `wrong leaf ${i} of ${size}`);
    }
  }
});

t.test('Ed25519 signatures: round trip, tampered body, wrong key', async (t) => {
  const signer = testSigner();
  const body = { type: 'audit-checkpoint-v1', count: 3 };
  const signed = { ...body, keyId: signer.keyId, signature: signer.sign(body) };
  t.ok(verifySigned(signed, testPublicKey()));
  t.notOk(verifySigned({ ...signed, count: 4 } as typeof signed, testPublicKey()), 'a changed body fails');
  const other = generateKeyPairSync('ed25519');
  t.notOk(verifySigned(signed, loadPublicKey(other.publicKey.export({ type: 'spki', format: 'pem' }))), 'another key fails');
  const forged = createSigner(other.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  t.notOk(verifySigned({ ...body, keyId: signer.keyId, signature: forged.sign(body) }, testPublicKey()), 'a signature by another key fails');
});
