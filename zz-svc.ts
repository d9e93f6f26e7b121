import { sql } from 'kysely';
import { createDb, createPool, migrateToLatest } from './lib/db.js';
import { loadVaultConfig } from './vault/src/config.js';
import { createVaultContext } from './vault/src/context.js';
import { tokenize } from './vault/src/tokens.service.js';
import { systemClock } from './lib/clock.js';
const config = loadVaultConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/zz_prof' });
const db = createDb<any>(createPool(config.databaseUrl, { max: 20, applicationName: 'x' }));
await migrateToLatest(db, 'vault', '/work/main/vault/src/migrations');
const ctx = createVaultContext(config, db, systemClock);
const caller = { identity: 'gateway', ip: '127.0.0.1', requestId: 'r' };
async function run(name: string, fn: () => Promise<unknown>) {
  let n = 0; const end = Date.now() + 4000; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { await fn(); n++; } }));
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(10), (n / 4).toFixed(0), '/s', ((c.user + c.system) / n).toFixed(0), 'µs cpu/op');
}
for (let k = 0; k < 2; k++) {
await run('select1', () => sql`select 1`.execute(db));
await run('rawinsert', () => sql`insert into vault.audit_outbox (event_id, payload, created_at) values (gen_random_uuid(), '{}'::jsonb, now())`.execute(db));
await run('tokenize', () => tokenize(ctx, caller, { pan: '4400430000000007', expMonth: 12, expYear: 2030, clientRef: 'c' }));
}
await db.destroy();
