// BULLMQ_PREFIX (issue 17 item 4): a hash-tag prefix such as `{pgw}` puts each queue's keys in one
// Redis Cluster slot. The gateway's relay publishes under it and the audit-worker consumes under
// it; nothing is written under BullMQ's default `bull:`.
import t from 'tap';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import { startGatewayProcess } from '../support/gateway.js';
import { startAuditWorkerProcess } from '../support/audit-worker.js';
import { freshDatabaseUrl, migrateDatabase } from '../support/database.js';
import { TEST_REDIS_URL, uniqueName } from '../support/redis.js';
import { pkiFile } from '../support/pki.js';
import { randomKzPhone } from '../support/clients.js';

t.test('BULLMQ_PREFIX: the gateway publishes and the audit-worker consumes under the hash-tag prefix', async (t) => {
  const prefix = `{${uniqueName('pgw')}}`;
  const queue = uniqueName('audit');
  const redis = new Redis(TEST_REDIS_URL);
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  const auditUrl = await freshDatabaseUrl(t);
  await migrateDatabase(auditUrl, ['audit']);
  await startAuditWorkerProcess(t, auditUrl, queue, { BULLMQ_PREFIX: prefix });
  const gw = await startGatewayProcess(t, { BULLMQ_PREFIX: prefix, AUDIT_QUEUE: queue });

  // A refused login is an audit event: the outbox relay publishes it to the queue.
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt') } });
  t.teardown(() => agent.close());
  const res = await request(`https://localhost:${String(gw.ready.publicPort)}/v1/sessions`, {
    method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: randomKzPhone(), password: 'Wrong-Password-1' }),
  });
  await res.body.text();
  t.equal(res.statusCode, 401);

  // The relay's job lands under the prefix; the worker's stalled-job check runs under it too.
  // (Storing the event needs the gateway's database, which this worker is not given.)
  let keys: string[] = [];
  for (let i = 0; i < 400; i++) {
    keys = await redis.keys(`${prefix}:${queue}:*`);
    if (keys.some((k) => k.endsWith(':id')) && keys.some((k) => k.endsWith(':stalled-check'))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(keys.includes(`${prefix}:${queue}:id`), 'the gateway published its audit job under the prefix');
  t.ok(keys.includes(`${prefix}:${queue}:stalled-check`), 'the audit-worker consumes under the prefix');
  t.same(await redis.keys(`bull:${queue}:*`), [], 'no key under the default prefix');
});
