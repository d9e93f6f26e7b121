// lib/prepared-query.ts: a query compiled once must bind each call's own values, in the right
// places, next to the values fixed at build time, and refuse a call that lacks one.
import t from 'tap';
import { sql, type Kysely } from 'kysely';
import { createDb, createPool } from '../../lib/db.js';
import { preparedQuery } from '../../lib/prepared-query.js';
import { freshDatabaseUrl } from '../support/database.js';

interface Db {
  items: { id: number; owner: string; qty: number; seen_at: Date | null };
}

t.test('each call binds its own values; fixed values stay; a missing parameter is refused', async (t) => {
  const db: Kysely<Db> = createDb<Db>(createPool(await freshDatabaseUrl(t), { max: 2, applicationName: 'prepared-query-test' }));
  t.teardown(() => db.destroy());
  await sql`create table items (id int primary key, owner text not null, qty int not null, seen_at timestamptz)`.execute(db);
  await sql`insert into items values (1, 'ann', 5, null), (2, 'bob', 7, null), (3, 'ann', 9, null)`.execute(db);

  const touch = preparedQuery((db: Kysely<Db>, p: { owner: string; at: Date; min: number }) => db.updateTable('items')
    .set((eb) => ({ seen_at: p.at, qty: eb('qty', '+', 1) }))
    .where('owner', '=', p.owner).where('qty', '>=', p.min)
    .returning(['id', 'qty', 'seen_at']));

  const at = new Date('2026-11-24T10:00:00Z');
  const ann = await touch.rows(db, { owner: 'ann', at, min: 6 });
  t.same(ann, [{ id: 3, qty: 10, seen_at: at }], 'only ann\'s row with qty ≥ 6, the fixed +1 applied');
  const bob = await touch.first(db, { owner: 'bob', at, min: 0 });
  t.same(bob, { id: 2, qty: 8, seen_at: at }, 'the second call binds its own values to the same text');
  t.equal(await touch.first(db, { owner: 'nobody', at, min: 0 }), undefined);
  await t.rejects(touch.rows(db, { owner: 'ann', at } as never), /without parameter min/, 'a missing value is never bound as undefined');
  const untouched = await db.selectFrom('items').select(['id', 'qty']).where('id', '=', 1).executeTakeFirstOrThrow();
  t.same(untouched, { id: 1, qty: 5 }, 'the refused call changed nothing');
});
