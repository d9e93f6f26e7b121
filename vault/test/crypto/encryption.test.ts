// Known-answer tests for the vault's AES-256-GCM (SP-16, SP-17 / PCI DSS 3.5): published vectors,
// a round trip, and refusals for a wrong key, wrong associated data and a flipped byte.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { DecryptionFailed, open, seal } from '../../src/crypto/encryption.js';
import { randomBytes as randomBytesPooled } from '../../src/crypto/random.js';

const hex = (s: string) => Buffer.from(s, 'hex');

t.test('published vectors (McGrew & Viega GCM spec, test cases 14 and 16; NIST CAVP)', async (t) => {
  // Test case 14: AES-256, zero key, zero IV, one zero block, no AAD.
  const zero = seal(Buffer.alloc(32), Buffer.alloc(16), Buffer.alloc(0), Buffer.alloc(12));
  t.equal(zero.subarray(12).toString('hex'), 'cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919');

  // Test case 16: AES-256 with associated data.
  const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const iv = hex('cafebabefacedbaddecaf888');
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const plain = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
  const sealed = seal(key, plain, aad, iv);
  t.equal(sealed.subarray(12, sealed.length - 16).toString('hex'),
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662');
  t.equal(sealed.subarray(sealed.length - 16).toString('hex'), '76fc6ece0f4e1768cddf8853bb2d551b');
  t.same(open(key, sealed, aad), plain, 'the vector decrypts');
});

t.test('round trip with a random IV; two seals of one plaintext differ', async (t) => {
  const key = randomBytes(32);
  const aad = Buffer.from('vault.card|tok_x|client-1');
  const plain = Buffer.from('4400430000000007');
  const a = seal(key, plain, aad);
  const b = seal(key, plain, aad);
  t.not(a.toString('hex'), b.toString('hex'), 'fresh IV per encryption');
  t.same(open(key, a, aad), plain);
});

t.test('a wrong key, wrong associated data, a flipped byte or a truncation fails', async (t) => {
  const key = randomBytes(32);
  const aad = Buffer.from('row-a');
  const sealed = seal(key, Buffer.from('4400430000000007'), aad);
  t.throws(() => open(randomBytes(32), sealed, aad), DecryptionFailed, 'wrong key');
  t.throws(() => open(key, sealed, Buffer.from('row-b')), DecryptionFailed, 'ciphertext moved to another row');
  for (const at of [0, 12, sealed.length - 1]) {
    const flipped = Buffer.from(sealed);
    flipped[at]! ^= 0x01;
    t.throws(() => open(key, flipped, aad), DecryptionFailed, `byte ${at} flipped`);
  }
  t.throws(() => open(key, sealed.subarray(0, 20), aad), DecryptionFailed, 'truncated');
  t.throws(() => seal(Buffer.alloc(16), Buffer.from('x'), aad), /32-byte key/, 'AES-128 keys are refused');
});

t.test('pooled random bytes: right sizes, never repeated, across pool refills', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) seen.add(randomBytesPooled(12).toString('hex')); // ~6 refills of the 4 KB pool
  t.equal(seen.size, 2000, 'no IV repeats');
  t.equal(randomBytesPooled(32).length, 32);
  t.equal(randomBytesPooled(1000).length, 1000, 'large requests bypass the pool');
  t.not(randomBytesPooled(32).toString('hex'), Buffer.alloc(32).toString('hex'));
});
