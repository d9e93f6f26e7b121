// `npm run bench:webhooks` — webhook deliveries/s through the gateway's dispatcher (relay, BullMQ,
// signed POST, attempt recorded) to a local receiver, next to the same receiver hit directly with
// the same concurrency in the same run. BENCH_EVENTS (default 2,000), WEBHOOK_CONCURRENCY (16).
import { createServer } from 'node:http';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { buildTestGateway } from '../test/support/gateway.js';
import { listenAdmin } from '../test/support/admin.js';
import { bearer, createTestMerchant } from '../test/support/merchants.js';
import { uniqueName } from '../test/support/redis.js';
import { recordMerchantEvent } from '../gateway/src/merchants/merchant-events.js';
import { startWebhookDispatcher } from '../gateway/src/webhooks/dispatcher.js';
import type { BenchPart } from './results.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000);
const CONCURRENCY = Number(process.env.WEBHOOK_CONCURRENCY ?? 16);
const teardowns: (() => unknown)[] = [];
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn); } };

async function run(): Promise<BenchPart> {
  const gw = await buildTestGateway(t, { env: { WEBHOOK_QUEUE: uniqueName('bench-webhooks'), WEBHOOK_CONCURRENCY: String(CONCURRENCY), WEBHOOK_RELAY_INTERVAL_MS: '20' } });
  const admin = await listenAdmin(t, gw.ctx);
  const shop = await createTestMerchant(admin);
  let hits = 0;
  const receiver = createServer((req, res) => { req.resume(); req.on('end', () => { hits++; res.writeHead(204).end(); }); });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  teardowns.push(() => receiver.close());
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

  // Baseline: the receiver alone, same body size, same concurrency.
  const agent = new Agent({ connections: CONCURRENCY });
  const body = JSON.stringify({ id: '01900000-0000-7000-8000-000000000000', type: 'payment.succeeded', createdAt: new Date().toISOString(), data: { id: 'x'.repeat(300) } });
  let next = 0;
  let t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < EVENTS) (await request(url, { method: 'POST', body, dispatcher: agent })).body.resume();
  }));
  const directPerSecond = EVENTS / ((performance.now() - t0) / 1000);
  await agent.close();

  const res = await gw.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(shop.secret), payload: { url, events: ['payment.succeeded'] } });
  if (res.statusCode !== 201) throw new Error(res.body);
  for (let i = 0; i < EVENTS; i++) {
    await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'payment.succeeded', data: { id: 'x'.repeat(300) } }, gw.clock.now());
  }
  hits = 0;
  t0 = performance.now();
  const dispatcher = startWebhookDispatcher({ db: gw.db, config: gw.ctx.config.webhooks, redisUrl: gw.ctx.config.redisUrl, clock: gw.clock, log: console as never });
  for (;;) {
    const { n } = await gw.db.selectFrom('gateway.webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
    if (Number(n) >= EVENTS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const dispatchedPerSecond = EVENTS / ((performance.now() - t0) / 1000);
  await dispatcher.stop();
  console.log(`webhooks: ${EVENTS} events, concurrency ${CONCURRENCY}`);
  console.log(`  receiver hit directly   ${directPerSecond.toFixed(0)} req/s (baseline)`);
  console.log(`  through the dispatcher  ${dispatchedPerSecond.toFixed(0)} deliveries/s (${(dispatchedPerSecond / directPerSecond).toFixed(2)}× baseline; relay, queue, signing, attempt rows)`);
  // A drained backlog: a rate, no per-delivery latency; the dispatcher runs in this process.
  const rateOnly = { p50: null, p95: null, p99: null, cpuMsPerOp: {} };
  return {
    baselines: [{ id: 'webhook-receiver', name: 'webhook receiver hit directly (HTTP POST)', ...rateOnly, rps: directPerSecond, ok: EVENTS, errors: 0 }],
    scenarios: [{ name: 'webhooks: deliveries through the dispatcher', unit: 'delivery', baseline: 'webhook-receiver', ...rateOnly, rps: dispatchedPerSecond, ok: EVENTS, errors: 0 }],
  };
}

/** `npm run bench:webhooks`'s figures. */
export async function runWebhooks(): Promise<BenchPart> {
  try {
    return await run();
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runWebhooks();
