// A database restart or failover kills connections, some of them in the middle of a transaction.
// That must fail the work on those connections, never the process (gateway, vault and worker
// share lib/db.ts), and the pool must serve the next request on a fresh connection.
import pg from 'pg';
import { sql } from 'kysely';
import t from 'tap';
import { createDb, createPool } from '../../lib/db.js';
import { ADMIN_URL } from '../support/database.js';

t.test('a connection killed inside a transaction fails that transaction, not the process', async (t) => {
  const db = createDb(createPool(ADMIN_URL, { max: 2, applicationName: 'db-test' }));
  t.teardown(() => db.destroy());
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  t.teardown(() => admin.end());

  const inTransaction = db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
    const pid = rows[0]!.pid;
    await admin.query('select pg_terminate_backend($1)', [pid]);
    // The backend's FATAL reaches the client while it is checked out and idle in the transaction.
    while ((await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount) await new Promise(setImmediate);
    await sql`select 1`.execute(trx);
  });
  await t.rejects(inTransaction, { message: /not queryable|terminating connection due to administrator command|Connection terminated/ }, 'the transaction on the killed connection fails');

  const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(db);
  t.equal(rows[0]!.ok, 1, 'the pool answers the next query on a new connection');
});
