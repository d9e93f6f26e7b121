// SP-20: an investigator's export proves it is complete. Whoever holds the file (staff, a
// courier, an attacker) cannot add, drop, reorder or alter a record, strip or forge the header's
// signature, or cite proofs the header does not cover, without `audit:verify --export` naming the
// first bad line and the kind of damage. Each case is a hostile edit of a real export.
import t, { type Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '../../lib/clock.js';
import { createSigner, type Signer } from '../../lib/audit/chain.js';
import { verifyAuditExport, type ExportHeader } from '../../lib/audit/export.js';
import { recordHash } from '../../lib/audit/chain.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { migratedDatabase } from '../../test/support/database.js';
import { buildAuditExport } from '../src/export.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { verifyChain } from '../src/verify.js';
import { appendEvents, dbAs, storeWaiting, testPublicKey, testSigner } from './support.js';

type Line = Record<string, any>;
const parse = (text: string): Line[] => text.trim().split('\n').map((l) => JSON.parse(l));
const render = (lines: Line[]) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const records = (lines: Line[]) => lines.filter((l) => l.type === 'record');
const signWith = (signer: Signer, header: Line): Line => {
  const { keyId: _k, signature: _s, ...body } = header;
  return { ...body, keyId: signer.keyId, signature: signer.sign(body) };
};
const otherSigner = () => createSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

/**
 * Alice's and Bob's events interleaved: 6 of Alice's under checkpoint 1 at 10:00, 3 more at
 * 11:00 not yet checkpointed. `full` is Alice's whole trail (the worker signs checkpoint 2 for
 * it), `early` only her 10:00 events (covered by checkpoint 1), `bob` Bob's trail.
 */
async function exportsOf(t: Test) {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const alice = uuidv7();
  const bob = uuidv7();
  for (let i = 0; i < 3; i++) {
    await appendEvents(db, 2, { at: clock.now(), clientId: alice });
    await appendEvents(db, 1, { at: clock.now(), clientId: bob });
    clock.advance(10);
  }
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, testSigner(), clock);
  clock.advance(3600_000);
  await appendEvents(db, 3, { at: clock.now(), clientId: alice });
  await storeWaiting(writer, clock);
  const source = { db: writer, signer: testSigner(), clock };
  const day = { from: new Date('2026-11-24T00:00:00Z'), to: new Date('2026-11-25T00:00:00Z') };
  const full = await buildAuditExport(source, { clientId: alice }, day.from, day.to);
  const early = await buildAuditExport(source, { clientId: alice }, day.from, new Date('2026-11-24T10:30:00Z'));
  const bobs = await buildAuditExport(source, { clientId: bob }, day.from, day.to);
  return { db, writer, source, alice, full, early, bobs };
}

t.test('SP-20 hostile edits of a signed export are each named, with the first bad line', async (t) => {
  const { full, early, bobs } = await exportsOf(t);
  const key = testPublicKey();
  const verify = (lines: Line[]) => verifyAuditExport(render(lines), key);
  const F = parse(full);
  const recs = records(F);
  const firstRecordLine = F.findIndex((l) => l.type === 'record') + 1; // 1-based
  t.equal(recs.length, 9, "all of Alice's records");
  t.equal(F.filter((l) => l.type === 'checkpoint').length, 2, 'under two checkpoints');
  t.match(verifyAuditExport(full, key), { ok: true, records: 9, checkpoints: 2 }, 'the untouched export verifies');
  t.match(verifyAuditExport(early, key), { ok: true, records: 6, checkpoints: 1 });

  t.test('a record added (another client\'s genuine record, proof and all)', async (t) => {
    const intruder = records(parse(bobs))[0]!;
    const lines = [...F];
    const at = lines.findIndex((l) => l.type === 'record' && l.seq > intruder.seq);
    lines.splice(at, 0, intruder);
    t.match(verify(lines), { ok: false, kind: 'added', line: at + 1, seq: intruder.seq });
    const listed = { ...lines[0], seqs: [...lines[0]!.seqs, intruder.seq].sort((a, b) => a - b) };
    t.match(verify([listed, ...lines.slice(1)]), { ok: false, kind: 'signature', line: 1 }, 'and the header edited to list it');
    const v1 = { type: 'audit-export-v1', subject: F[0]!.subject, from: F[0]!.from, to: F[0]!.to, generatedAt: F[0]!.generatedAt, records: 10 };
    t.match(verify([v1, ...lines.slice(1)]), { ok: false, kind: 'unsigned', line: 1 }, "and today's unsigned header with its count adjusted");
  });

  t.test('a record added twice', async (t) => {
    const lines = [...F];
    lines.splice(firstRecordLine, 0, recs[0]!);
    t.match(verify(lines), { ok: false, kind: 'added', line: firstRecordLine + 1, seq: recs[0]!.seq });
  });

  t.test('a record dropped, in the middle or at the end', async (t) => {
    const middle = F.filter((l) => l !== recs[3]);
    t.match(verify(middle), { ok: false, kind: 'dropped', line: firstRecordLine + 3, seq: recs[3]!.seq });
    const last = F.filter((l) => l !== recs[8]);
    t.match(verify(last), { ok: false, kind: 'dropped', line: last.length + 1, seq: recs[8]!.seq });
    const unlisted = { ...middle[0], seqs: middle[0]!.seqs.filter((s: number) => s !== recs[3]!.seq) };
    t.match(verify([unlisted, ...middle.slice(1)]), { ok: false, kind: 'signature', line: 1 }, 'and the header edited not to list it');
    const v1 = { type: 'audit-export-v1', subject: F[0]!.subject, from: F[0]!.from, to: F[0]!.to, generatedAt: F[0]!.generatedAt, records: 8 };
    t.match(verify([v1, ...middle.slice(1)]), { ok: false, kind: 'unsigned', line: 1 }, "and today's unsigned header with its count adjusted");
  });

  t.test('records reordered', async (t) => {
    const lines = [...F];
    const i = firstRecordLine - 1 + 2;
    [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
    t.match(verify(lines), { ok: false, kind: 'reordered', line: i + 1, seq: recs[3]!.seq });
  });

  t.test('a record altered, with or without its hash recomputed', async (t) => {
    const victim = recs[4]!;
    const event = { ...victim.event, outcome: 'failure' };
    const plain = F.map((l) => (l === victim ? { ...victim, event } : l));
    t.match(verify(plain), { ok: false, kind: 'altered', line: firstRecordLine + 4, seq: victim.seq });
    const hash = recordHash(Buffer.from(victim.prevHash, 'hex'), { seq: victim.seq, recordedAt: victim.recordedAt, source: victim.source, event }).toString('hex');
    const rehashed = F.map((l) => (l === victim ? { ...victim, event, hash } : l));
    t.match(verify(rehashed), { ok: false, kind: 'altered', line: firstRecordLine + 4, problem: /not the record signed by checkpoint/ });
    const moved = F.map((l) => (l === victim ? { ...victim, proof: { ...victim.proof, index: victim.proof.index + 1 } } : l));
    t.match(verify(moved), { ok: false, kind: 'altered', seq: victim.seq }, 'a proof pointing at another leaf');
  });

  t.test('an unsigned header', async (t) => {
    const { keyId: _k, signature: _s, ...bare } = F[0]!;
    t.match(verify([bare, ...F.slice(1)]), { ok: false, kind: 'unsigned', line: 1 });
  });

  t.test('a header re-signed by another key', async (t) => {
    const edited = { ...F[0], seqs: F[0]!.seqs.slice(1) };
    t.match(verify([signWith(otherSigner(), edited), ...F.slice(1)]), { ok: false, kind: 'signature', line: 1, problem: /another key/ });
    const forgedId = { ...signWith(otherSigner(), edited), keyId: F[0]!.keyId };
    t.match(verify([forgedId, ...F.slice(1)]), { ok: false, kind: 'signature', line: 1, problem: /edited/ }, 'also when it claims the audit key id');
  });

  t.test("a header whose seqs or checkpoint were edited", async (t) => {
    const seqs = { ...F[0], seqs: [...F[0]!.seqs].reverse() };
    t.match(verify([seqs, ...F.slice(1)]), { ok: false, kind: 'signature', line: 1 });
    const cp1 = F.find((l) => l.type === 'checkpoint')!.checkpoint;
    const checkpoint = { ...F[0], checkpoint: { count: cp1.count, merkleRoot: cp1.merkleRoot } };
    t.match(verify([checkpoint, ...F.slice(1)]), { ok: false, kind: 'signature', line: 1 });
  });

  t.test('a checkpoint line edited', async (t) => {
    const lines = F.map((l) => (l.type === 'checkpoint' ? { ...l, checkpoint: { ...l.checkpoint, at: '2030-01-01T00:00:00.000Z' } } : l));
    t.match(verify(lines), { ok: false, kind: 'signature', line: 2 });
  });

  t.test('a record without a proof', async (t) => {
    const lines = F.map((l) => (l === recs[7] ? { ...recs[7], proof: null } : l));
    t.match(verify(lines), { ok: false, kind: 'unproven', line: firstRecordLine + 7, seq: recs[7]!.seq, problem: /no proof/ });
  });

  t.test('a proof citing a checkpoint the export lacks', async (t) => {
    const lines = F.filter((l) => !(l.type === 'checkpoint' && l.checkpoint.count !== F[0]!.checkpoint.count));
    t.match(verify(lines), { ok: false, kind: 'unproven', line: firstRecordLine - 1, seq: recs[0]!.seq, problem: /lacks/ });
  });

  t.test('a proof citing a checkpoint above the covered one', async (t) => {
    const E = parse(early);
    const later = F.filter((l) => l.type === 'checkpoint').find((l) => l.checkpoint.count > E[0]!.checkpoint.count)!;
    const first = E.findIndex((l) => l.type === 'record');
    const lines = [...E.slice(0, first), later, ...E.slice(first)];
    lines[first + 1] = { ...lines[first + 1], proof: { ...lines[first + 1]!.proof, checkpoint: later.checkpoint.count } };
    t.match(verify(lines), { ok: false, kind: 'unproven', line: first + 2, problem: /above the covered checkpoint/ });
  });

  t.test('a signed header whose covered checkpoint is missing or too low (a lying producer)', async (t) => {
    const signer = testSigner();
    const cps = F.filter((l) => l.type === 'checkpoint');
    const low = signWith(signer, { ...F[0], checkpoint: { count: cps[0]!.checkpoint.count, merkleRoot: cps[0]!.checkpoint.merkleRoot } });
    t.match(verify([low, ...F.slice(1)]), { ok: false, kind: 'unproven', line: 1 });
    const absent = signWith(signer, { ...F[0], checkpoint: { count: F[0]!.checkpoint.count, merkleRoot: 'ab'.repeat(32) } });
    t.match(verify([absent, ...F.slice(1)]), { ok: false, kind: 'unproven', line: 1, problem: /not in the export/ });
  });
});

t.test('SP-20 concurrent exports of unproven records each get a covering checkpoint; the chain stays consecutive', async (t) => {
  const { db, writer, source, alice } = await exportsOf(t);
  source.clock.advance(1000);
  await appendEvents(db, 4, { at: source.clock.now(), clientId: alice });
  await storeWaiting(writer, source.clock);
  const from = new Date('2026-11-24T00:00:00Z');
  const to = new Date('2026-11-25T00:00:00Z');
  const exports = await Promise.all(Array.from({ length: 6 }, () => buildAuditExport(source, { clientId: alice }, from, to)));
  t.equal(exports.length, 6);
  for (const text of exports) t.match(verifyAuditExport(text, testPublicKey()), { ok: true, records: 13 });
  const covered = new Set(exports.map((text) => (JSON.parse(text.split('\n')[0]!) as ExportHeader).checkpoint!.count));
  t.equal(covered.size, 1, 'one checkpoint covers them all: the others found it signed');
  t.match(await verifyChain(writer, testPublicKey()), { ok: true, unsigned: 0 }, 'checkpoints still cover consecutive ranges');
});
