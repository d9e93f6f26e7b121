// lib/db.ts pipelinedTransaction: BEGIN and COMMIT share round trips with statements, so a
// failure anywhere must still keep nothing of the transaction and leave the pooled connection
// usable (one connection here: an aborted or open transaction left on it would fail what follows).
import t from 'tap';
import { sql, type Kysely } from 'kysely';
import { createDb, createPool, pipelinedTransaction } from '../../lib/db.js';
import { freshDatabaseUrl } from '../support/database.js';

interface Db {
  items: { id: number };
}

const insert = (id: number) => sql<{ id: number }>`insert into items (id) values (${id}) returning id`;
const ids = async (db: Kysely<Db>) => (await db.selectFrom('items').select('id').orderBy('id').execute()).map((r) => r.id);

t.test('pipelined transaction: committed whole, or nothing kept when a statement, the body or the commit round trip fails', async (t) => {
  const db = createDb<Db>(createPool(await freshDatabaseUrl(t), { max: 1, applicationName: 'pipelined-tx-test', pipeline: true }));
  t.teardown(() => db.destroy());
  await sql`create table items (id int primary key)`.execute(db);

  const last = await pipelinedTransaction(db, async (tx) => {
    t.same((await tx.query(insert(1))).rows, [{ id: 1 }], 'the first statement answers with its own rows, not BEGIN\'s');
    return (await tx.commit(insert(2))).rows;
  });
  t.same(last, [{ id: 2 }], 'the last statement answers with its own rows, not COMMIT\'s');
  t.same(await ids(db), [1, 2]);

  await t.rejects(pipelinedTransaction(db, async (tx) => {
    await tx.query(insert(3));
    await tx.commit(insert(1));
  }), { code: '23505' }, 'a statement failing beside COMMIT fails the transaction');
  t.same(await ids(db), [1, 2], 'the statement before it was rolled back with it');

  await t.rejects(pipelinedTransaction(db, async (tx) => {
    await tx.query(insert(2));
  }), { code: '23505' }, 'a first statement failing beside BEGIN fails the transaction');

  await t.rejects(pipelinedTransaction(db, async (tx) => {
    await tx.query(insert(4));
    throw new Error('the body gave up');
  }), /gave up/);
  t.same(await ids(db), [1, 2], 'a body that throws is rolled back');

  await pipelinedTransaction(db, async (tx) => {
    await tx.query(insert(5));
  });
  t.same(await ids(db), [1, 2, 5], 'a body that returns without commit() is committed');
});
