// SP-21 / PCI DSS 10.3.2: audit rows can be appended, never changed or deleted — not by the
// worker's role (no privilege), not even by the owner (triggers), only whole old months by the
// retention role.
import t from 'tap';
import { sql } from 'kysely';
import { ManualClock } from '../../lib/clock.js';
import { migratedDatabase } from '../../test/support/database.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { appendEvents, dbAs, storeWaiting, testSigner } from './support.js';

t.test('SP-21 audit rows refuse UPDATE, DELETE and TRUNCATE', async (t) => {
  const { url, db } = await migratedDatabase(t, ['gateway', 'audit']);
  const writer = dbAs(t, url, 'audit_writer');
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  await appendEvents(db, 3, { at: clock.now() });
  await storeWaiting(writer, clock);
  await writeCheckpoint(writer, testSigner(), clock);
  const count = async () => (await sql<{ n: number }>`select count(*)::int as n from audit.events`.execute(db)).rows[0]!.n;
  t.equal(await count(), 3, 'the worker role can INSERT (and SELECT)');

  const attempts = [
    sql`update audit.events set payload = '{}'::jsonb where seq = 1`,
    sql`delete from audit.events where seq = 1`,
    sql`truncate audit.events`,
    sql`truncate audit.events_y2026m11`,
    sql`drop table audit.events_y2026m11`,
    sql`update audit.checkpoints set signed = '{}'::jsonb`,
    sql`delete from audit.checkpoints`,
    sql`select audit.drop_expired_partition('events_y2026m11', now())`,
  ];
  for (const q of attempts) {
    const text = q.compile(writer).sql;
    await t.rejects(q.execute(writer), /permission denied|must be owner/, `the worker role: ${text}`);
  }
  for (const q of attempts.slice(0, 4).concat(attempts.slice(5, 7))) {
    const text = q.compile(db).sql;
    await t.rejects(q.execute(db), /append-only \(SP-21\)/, `the owner, triggers on: ${text}`);
  }
  t.equal(await count(), 3, 'nothing changed');
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit.events where payload = '{}'::jsonb`.execute(db);
  t.equal(rows[0]!.n, 0);
});
