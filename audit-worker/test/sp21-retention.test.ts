// SP-21: records are kept 10 years; then whole months go, with a signed record, and the chain
// that remains still verifies from the anchor the retention record names.
import t from 'tap';
import { sql } from 'kysely';
import { ManualClock } from '../../lib/clock.js';
import { verifySigned } from '../../lib/audit/chain.js';
import { migratedDatabase } from '../../test/support/database.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { listPartitions, planRetention, runRetention } from '../src/retention.js';
import { verifyChain } from '../src/verify.js';
import { appendEvents, dbAs, storeWaiting, testPublicKey, testSigner } from './support.js';

t.test('SP-21 retention at 2036-12-01 drops November 2026 and older, nothing younger', async (t) => {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const retention = dbAs(t, url, 'audit_retention');
  const clock = new ManualClock();
  for (const at of ['2026-10-15T12:00:00Z', '2026-11-30T23:59:59Z', '2026-12-01T00:00:00Z']) {
    clock.set(at);
    await appendEvents(db, 4, { at: clock.now() });
    await storeWaiting(writer, clock);
    await writeCheckpoint(writer, testSigner(), clock);
  }
  t.same((await listPartitions(db)).map((p) => p.name), ['events_y2026m10', 'events_y2026m11', 'events_y2026m12']);

  const future = new ManualClock('2036-12-01T00:00:00Z');
  await t.rejects(runRetention(retention, testSigner(), future), /ahead of the database clock/,
    'the database refuses a retention clock far ahead of its own');
  // The DBA (owner) allows it for this test: the database's clock is 2026 here.
  await sql`update audit.retention_policy set max_clock_ahead = '20 years'`.execute(db);

  await t.rejects(sql`select audit.drop_expired_partition('events_y2026m12', ${future.now()})`.execute(retention),
    /not older than 10 years/, 'the retention role cannot drop a month younger than 10 years');
  await t.rejects(sql`delete from audit.events where seq = 1`.execute(retention), /permission denied/);

  const early = await runRetention(retention, testSigner(), new ManualClock('2036-11-30T23:59:59Z'));
  t.equal(early?.dropped.map((d) => d.partition).join(), 'events_y2026m10', 'a second before, November is still kept');

  const planned = await planRetention(retention, future);
  t.same(planned.map((d) => [d.partition, d.firstSeq, d.lastSeq, d.count]), [['events_y2026m11', 5, 8, 4]],
    'a dry run lists what would go, with its records');
  t.same((await listPartitions(db)).map((p) => p.name), ['events_y2026m11', 'events_y2026m12'], 'and drops nothing');
  const record = await runRetention(retention, testSigner(), future);
  t.ok(record, 'a retention record was written');
  t.same(record!.dropped.map((d) => [d.partition, d.firstSeq, d.lastSeq, d.count]), [['events_y2026m11', 5, 8, 4]]);
  t.equal(record!.anchorSeq, 8);
  t.ok(verifySigned(record!, testPublicKey()), 'the retention record is signed');
  t.same((await listPartitions(db)).map((p) => p.name), ['events_y2026m12'], 'December 2026 is kept');
  t.equal(await runRetention(retention, testSigner(), future), undefined, 'a second run drops nothing');

  const result = await verifyChain(writer, testPublicKey());
  t.match(result, { ok: true, count: 4, firstSeq: 9, lastSeq: 12 }, 'the remaining chain verifies from the retention anchor');
  await sql`set session_replication_role = replica; delete from audit.events where seq = 9; set session_replication_role = origin`.execute(db);
  t.match(await verifyChain(writer, testPublicKey()), { ok: false, damage: { kind: 'deleted', seq: 9 } },
    'a deletion right after the anchor is still caught');
});
