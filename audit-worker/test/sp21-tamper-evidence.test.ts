// SP-21: whatever a database superuser changes behind the triggers' back, audit:verify names it.
import t from 'tap';
import { sql } from 'kysely';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { runToExit } from '../../test/support/processes.js';
import { testDataDir } from '../../test/support/pki.js';
import { migratedDatabase } from '../../test/support/database.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { recordHash } from '../../lib/audit/chain.js';
import { verifyChain } from '../src/verify.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { appendEvents, dbAs, storeWaiting, testPublicKey, testSigner } from './support.js';

async function chainOf(t: { teardown(fn: () => unknown): void }, n: number) {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  await appendEvents(db, n, { at: clock.now() });
  await storeWaiting(writer, clock, 7);
  await writeCheckpoint(writer, testSigner(), clock);
  // A superuser can switch triggers off for a session; that is the attack simulated here.
  const asSuperuser = (q: ReturnType<typeof sql>) => db.connection().execute(async (c) => {
    await sql`set session_replication_role = replica`.execute(c);
    await q.execute(c);
    await sql`set session_replication_role = origin`.execute(c);
  });
  return { url, db, writer, asSuperuser };
}

t.test('SP-21 an untouched chain verifies as intact with its count', async (t) => {
  const { writer } = await chainOf(t, 30);
  const result = await verifyChain(writer, testPublicKey(), { pageSize: 8 });
  t.match(result, { ok: true, count: 30, lastSeq: 30, checkpoints: 1, unsigned: 0 });
});

t.test('SP-21 verify names an altered field', async (t) => {
  const { writer, asSuperuser } = await chainOf(t, 30);
  await asSuperuser(sql`update audit.events set payload = jsonb_set(payload, '{outcome}', '"failure"') where seq = 12`);
  const result = await verifyChain(writer, testPublicKey(), { pageSize: 8 });
  t.match(result, { ok: false, damage: { kind: 'altered', seq: 12 } });
});

t.test('SP-21 verify names an altered record even when the attacker recomputed its hash (signed checkpoint)', async (t) => {
  const { db, writer, asSuperuser } = await chainOf(t, 10);
  const { rows: [row] } = await sql<any>`select * from audit.events where seq = 10`.execute(db);
  const event = { ...row.payload, outcome: 'failure' };
  const hash = recordHash(row.prev_hash, { seq: 10, recordedAt: row.recorded_at.toISOString(), source: row.source, event });
  await asSuperuser(sql`update audit.events set payload = ${JSON.stringify(event)}::jsonb, hash = ${hash} where seq = 10`);
  await asSuperuser(sql`update audit.chain_head set hash = ${hash}`);
  const result = await verifyChain(writer, testPublicKey());
  t.match(result, { ok: false, damage: { kind: 'altered', seq: 10 } });
});

t.test('SP-21 verify names a deleted record', async (t) => {
  const { writer, asSuperuser } = await chainOf(t, 30);
  await asSuperuser(sql`delete from audit.events where seq = 17`);
  const result = await verifyChain(writer, testPublicKey(), { pageSize: 8 });
  t.match(result, { ok: false, damage: { kind: 'deleted', seq: 17 } });
});

t.test('SP-21 verify names deleted records at the end of the chain, against the signed checkpoint', async (t) => {
  const { writer, asSuperuser } = await chainOf(t, 30);
  await asSuperuser(sql`delete from audit.events where seq > 27`);
  await asSuperuser(sql`update audit.chain_head set seq = 27`);
  const result = await verifyChain(writer, testPublicKey());
  t.match(result, { ok: false, damage: { kind: 'deleted', seq: 28 } });
});

t.test('SP-21 verify names two swapped records as reordered', async (t) => {
  const { writer, asSuperuser } = await chainOf(t, 30);
  await asSuperuser(sql`update audit.events set seq = -1 where seq = 20`);
  await asSuperuser(sql`update audit.events set seq = 20 where seq = 21`);
  await asSuperuser(sql`update audit.events set seq = 21 where seq = -1`);
  const result = await verifyChain(writer, testPublicKey(), { pageSize: 8 });
  t.match(result, { ok: false, damage: { kind: 'reordered', seq: 20 } });
});

t.test('SP-21 verify names an inserted record, even one correctly chained to its predecessor', async (t) => {
  const { db, writer, asSuperuser } = await chainOf(t, 10);
  const { rows: [before] } = await sql<any>`select * from audit.events where seq = 3`.execute(db);
  await asSuperuser(sql`update audit.events set seq = -(seq + 1) where seq >= 4`);
  await asSuperuser(sql`update audit.events set seq = -seq where seq < 0`);
  const event = { ...before.payload, id: uuidv7(), action: 'client.unblock' };
  const hash = recordHash(before.hash, { seq: 4, recordedAt: before.recorded_at.toISOString(), source: 'gateway', event });
  await asSuperuser(sql`insert into audit.events values (4, ${event.id}, ${event.occurredAt}, ${before.recorded_at}, 'gateway',
    ${JSON.stringify(event)}::jsonb, ${before.hash}, ${hash})`);
  const result = await verifyChain(writer, testPublicKey());
  t.match(result, { ok: false, damage: { kind: 'inserted', seq: 4 } });
});

t.test('SP-21 npm run audit:verify prints intact with the count, or names the damage and exits 1', async (t) => {
  const { url, asSuperuser } = await chainOf(t, 12);
  const env = { DATA_DIR: testDataDir(), DATABASE_URL: url, AUDIT_CHECKPOINT_FILE: '/nonexistent/checkpoints.jsonl' };
  const ok = await runToExit('scripts/audit-verify.ts', env);
  t.equal(ok.code, 0, ok.output);
  t.match(ok.output, /^intact: 12 records \(seq 1\.\.12\), 1 signed checkpoints/m);
  await asSuperuser(sql`update audit.events set payload = jsonb_set(payload, '{ip}', '"10.9.9.9"') where seq = 7`);
  const bad = await runToExit('scripts/audit-verify.ts', env);
  t.equal(bad.code, 1);
  t.match(bad.output, /^TAMPERED \(altered\) at seq 7, event [0-9a-f-]{36}: record seq 7/m);
});

t.test('SP-21 the external checkpoint copy catches a superuser who deleted the tail and its checkpoints', async (t) => {
  const { db, writer, asSuperuser } = await chainOf(t, 6);
  const dir = mkdtempSync(join(tmpdir(), 'audit-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'checkpoints.jsonl');
  await appendEvents(db, 4, { at: new Date('2026-11-24T10:05:00Z') });
  await storeWaiting(writer, new ManualClock('2026-11-24T10:05:00Z'));
  const cp = await writeCheckpoint(writer, testSigner(), new ManualClock('2026-11-24T10:06:00Z'), file);
  t.equal(cp?.count, 10);
  await asSuperuser(sql`delete from audit.events where seq > 6`);
  await asSuperuser(sql`delete from audit.checkpoints where count > 6`);
  await asSuperuser(sql`update audit.chain_head set seq = 6, hash = (select hash from audit.events where seq = 6)`);
  t.match(await verifyChain(writer, testPublicKey()), { ok: true, count: 6 }, 'the database alone looks consistent');
  const external = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.match(await verifyChain(writer, testPublicKey(), { externalCheckpoints: external }), { ok: false, damage: { kind: 'deleted', seq: 7 } });
});

t.test('SP-21 a forged checkpoint signature is refused', async (t) => {
  const { writer, asSuperuser } = await chainOf(t, 5);
  await asSuperuser(sql`update audit.checkpoints set signed = jsonb_set(signed, '{count}', '4')`);
  const result = await verifyChain(writer, testPublicKey());
  t.match(result, { ok: false, damage: { kind: 'signature' } });
});
