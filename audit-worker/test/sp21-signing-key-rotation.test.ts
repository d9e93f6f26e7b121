// SP-20, SP-21 (PCI DSS 3.6.1, 3.7.4): audit signing key rotation. Every signature names its key by
// id; the worker signs with its current key; a verifier trusts a set of public keys, so records
// signed by a retired key still verify, and a signature under a key outside the set, or under a
// key id that is not its own, is refused. `npm run audit:rotate-signing-key` rotates the files.
import t, { type Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ManualClock } from '../../lib/clock.js';
import { createSigner, keyIdOf, loadPublicKeys, type SignedCheckpoint, type Signer } from '../../lib/audit/chain.js';
import { verifyAuditExport } from '../../lib/audit/export.js';
import { runToExit } from '../../test/support/processes.js';
import { migratedDatabase } from '../../test/support/database.js';
import { buildAuditExport } from '../src/export.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { verifyChain } from '../src/verify.js';
import { appendEvents, dbAs, publicKeyFile, signingKeyFile, storeWaiting } from './support.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return { signer: createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' })), pem, keyId: keyIdOf(publicKey) };
}

const resign = (signer: Signer, cp: SignedCheckpoint): SignedCheckpoint => {
  const { keyId: _k, signature: _s, ...body } = cp;
  return { ...body, keyId: signer.keyId, signature: signer.sign(body) };
};

/** 10 records under a checkpoint signed by the old key, 10 more under one signed by the new key. */
async function rotatedChain(t: Test) {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const [before, after, stranger] = [keyPair(), keyPair(), keyPair()];
  const clientId = 'client-rotated';
  await appendEvents(db, 10, { at: clock.now(), clientId });
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, before.signer, clock);
  clock.advance(60_000);
  await appendEvents(db, 10, { at: clock.now(), clientId });
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, after.signer, clock);
  const both = loadPublicKeys(before.pem + after.pem);
  const tamper = (count: number, cp: SignedCheckpoint) => db.connection().execute(async (c) => {
    // A superuser switches the append-only triggers off for a session: the attack simulated here.
    await sql`set session_replication_role = replica`.execute(c);
    await sql`update audit.checkpoints set signed = ${JSON.stringify(cp)}::jsonb where count = ${count}`.execute(c);
    await sql`set session_replication_role = origin`.execute(c);
  });
  const checkpointAt = async (count: number) => (await sql<{ signed: SignedCheckpoint }>`select signed from audit.checkpoints where count = ${count}`.execute(db)).rows[0]!.signed;
  return { url, db, writer, clock, before, after, stranger, both, clientId, tamper, checkpointAt };
}

t.test('SP-21: records signed by the retired key and by the current one verify against the trusted set', async (t) => {
  const { writer, before, after, both, checkpointAt } = await rotatedChain(t);
  t.equal((await checkpointAt(10)).keyId, before.keyId, 'the old checkpoint names the old key');
  t.equal((await checkpointAt(20)).keyId, after.keyId, 'the new one names the current key');
  t.match(await verifyChain(writer, both, { pageSize: 8 }), { ok: true, count: 20, checkpoints: 2, unsigned: 0 });
  t.match(await verifyChain(writer, loadPublicKeys(after.pem)), { ok: false, damage: { kind: 'signature', seq: 10 } },
    'dropping the retired key from the set leaves its records unproved');
  t.match(await verifyChain(writer, loadPublicKeys(before.pem)), { ok: false, damage: { kind: 'signature', seq: 20 } }, 'the old key alone does not vouch for the new records');
});

t.test('SP-21: hostile signatures are refused: an untrusted key, its own id or a trusted key\'s id; a trusted key\'s signature under the other id', async (t) => {
  const { writer, before, after, stranger, both, tamper, checkpointAt } = await rotatedChain(t);
  const original = await checkpointAt(10);
  const cases: [string, SignedCheckpoint][] = [
    ['re-signed with an untrusted key', resign(stranger.signer, original)],
    ['re-signed with an untrusted key, claiming the retired key\'s id', { ...resign(stranger.signer, original), keyId: before.keyId }],
    ['re-signed with an untrusted key, claiming the current key\'s id', { ...resign(stranger.signer, original), keyId: after.keyId }],
    ['the retired key\'s signature relabelled with the current key\'s id', { ...original, keyId: after.keyId }],
    ['an unknown key id', { ...original, keyId: '0123456789abcdef' }],
  ];
  for (const [what, forged] of cases) {
    await tamper(10, forged);
    t.match(await verifyChain(writer, both), { ok: false, damage: { kind: 'signature', seq: 10 } }, what);
  }
  await tamper(10, original);
  t.match(await verifyChain(writer, both), { ok: true, count: 20 }, 'the original verifies again');
});

t.test('SP-20: an export signed by the current key, proving records under the retired key\'s checkpoint, verifies against the set', async (t) => {
  const { writer, clock, before, after, stranger, both, clientId } = await rotatedChain(t);
  const day = { from: new Date('2026-11-24T00:00:00Z'), to: new Date('2026-11-25T00:00:00Z') };
  const text = await buildAuditExport({ db: writer, signer: after.signer, clock }, { clientId }, day.from, day.to);
  t.match(verifyAuditExport(text, both), { ok: true, records: 20, checkpoints: 2, keyId: after.keyId });
  t.match(verifyAuditExport(text, loadPublicKeys(after.pem)), { ok: false, kind: 'signature', line: 2 }, 'the retired key\'s checkpoint needs its key in the set');
  t.match(verifyAuditExport(text, loadPublicKeys(before.pem)), { ok: false, kind: 'signature', line: 1, problem: /not an audit key in the trusted set/ });
  const [header, ...rest] = text.trim().split('\n').map((l) => JSON.parse(l));
  const { keyId: _k, signature: _s, ...body } = header;
  const swapped = [{ ...body, keyId: after.keyId, signature: stranger.signer.sign(body) }, ...rest].map((l) => JSON.stringify(l)).join('\n');
  t.match(verifyAuditExport(swapped, both), { ok: false, kind: 'signature', line: 1, problem: /edited/ }, 'a header re-signed by an untrusted key under the current key\'s id');
  const relabelled = [{ ...header, keyId: before.keyId }, ...rest].map((l) => JSON.stringify(l)).join('\n');
  t.match(verifyAuditExport(relabelled, both), { ok: false, kind: 'signature', line: 1 }, 'the current key\'s header relabelled as the retired key\'s');
});

t.test('SP-21: `npm run audit:rotate-signing-key` replaces the private key, keeps the old public key trusted; audit:verify passes across the rotation', async (t) => {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const dir = mkdtempSync(join(tmpdir(), 'pgw-audit-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    AUDIT_SIGNING_KEY_FILE: join(dir, 'audit-signing.key'), AUDIT_PUBLIC_KEY_FILE: join(dir, 'audit-signing.pub'),
    AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl'), AUDIT_DATABASE_URL: url, DATA_DIR: dir,
  };
  copyFileSync(signingKeyFile(), env.AUDIT_SIGNING_KEY_FILE);
  copyFileSync(publicKeyFile(), env.AUDIT_PUBLIC_KEY_FILE);
  const old = createSigner(readFileSync(env.AUDIT_SIGNING_KEY_FILE));
  await appendEvents(db, 5, { at: clock.now() });
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, old, clock);

  const rotation = await runToExit('scripts/audit-rotate-signing-key.ts', env);
  t.equal(rotation.code, 0, rotation.output);
  const current = createSigner(readFileSync(env.AUDIT_SIGNING_KEY_FILE));
  t.not(current.keyId, old.keyId, 'a new signing key');
  t.match(rotation.output, new RegExp(`rotated: ${old.keyId} → ${current.keyId}; 2 key\\(s\\) trusted`));
  t.same([...loadPublicKeys(readFileSync(env.AUDIT_PUBLIC_KEY_FILE)).keys()], [old.keyId, current.keyId], 'both public keys are trusted, oldest first');

  await appendEvents(db, 5, { at: clock.now() });
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, current, clock);
  const verified = await runToExit('scripts/audit-verify.ts', env);
  t.equal(verified.code, 0, verified.output);
  t.match(verified.output, /intact: 10 records .* 2 signed checkpoints/);

  writeFileSync(env.AUDIT_PUBLIC_KEY_FILE, keyPair().pem);
  const refused = await runToExit('scripts/audit-verify.ts', env);
  t.equal(refused.code, 1, 'a trusted set without either key refuses the chain');
  t.match(refused.output, /TAMPERED \(signature\) at seq 5/);
  writeFileSync(env.AUDIT_PUBLIC_KEY_FILE, 'not a key');
  const broken = await runToExit('scripts/audit-verify.ts', env);
  t.match(broken.output, /invalid setting AUDIT_PUBLIC_KEY_FILE: must hold one or more Ed25519 public keys/);
});
