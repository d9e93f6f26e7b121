// Webhooks end to end (issue 15 item 4), with the gateway's BullMQ dispatcher running against real
// PostgreSQL and Redis and a local receiver: a checkout session paid by a customer reaches the
// merchant as checkout.session.completed and payment.succeeded, each verified with the
// `standardwebhooks` package (order not assumed); a 500 is retried until it succeeds; a redelivery
// sends the same message again, and concurrent redeliveries make one new attempt; an endpoint that
// never answers 2xx ends `failed` after the computed number of attempts; a disabled endpoint's
// pending delivery is not sent; an event of a rolled-back transaction is never delivered.
import t from 'tap';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { listenAdmin } from '../../../test/support/admin.js';
import { lastSmsCode } from '../../../test/support/clients.js';
import { bearer, createTestMerchant } from '../../../test/support/merchants.js';
import { uniqueName } from '../../../test/support/redis.js';
import { confirm, entered, kzCard, newClient, paymentsWorld } from '../payments/world.js';
import { startWebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { recordMerchantEvent } from '../../src/merchants/merchant-events.js';

// Signatures carry the gateway clock's time and receivers refuse old ones: the test clock starts now.
const { gw } = await paymentsWorld(t, {
  start: new Date().toISOString(),
  env: {
    THREE_DS_SANDBOX_PAGES: 'true', WEBHOOK_QUEUE: uniqueName('webhooks'), WEBHOOK_RELAY_INTERVAL_MS: '20',
    WEBHOOK_RETRY_BASE_DELAY_MS: '20', WEBHOOK_RETRY_WINDOW_MS: '1000', WEBHOOK_TIMEOUT_MS: '300',
  },
});
const admin = await listenAdmin(t, gw.ctx);
const shop = await createTestMerchant(admin, { name: 'Kcell Shop', returnOrigins: ['https://shop.example'] });
const dispatcher = startWebhookDispatcher({ db: gw.db, config: gw.ctx.config.webhooks, redisUrl: gw.ctx.config.redisUrl, clock: gw.clock, log: console as never });
gw.ctx.webhooks = dispatcher;
t.teardown(() => dispatcher.stop());

interface Received { path: string; headers: IncomingHttpHeaders; body: string }
const received: Received[] = [];
/** Per path, the statuses to answer in turn (0: never answer, -1: answer when the test calls `releaseHeld`); 200 once used up. */
const script = new Map<string, number[]>();
const held: ((status: number) => void)[] = [];
const releaseHeld = (status: number) => { for (const answer of held.splice(0)) answer(status); };
const waiters: (() => void)[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ path: req.url!, headers: req.headers, body });
    const status = script.get(req.url!)?.shift() ?? 200;
    if (status === -1) held.push((answer) => res.writeHead(answer).end());
    else if (status !== 0) res.writeHead(status).end();
    for (const w of waiters.splice(0)) w();
  });
});
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
t.teardown(() => receiver.close());
const base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

/** Waits for the next request to the receiver matching `pred` (each arrival re-checks). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise<void>((resolve) => waiters.push(resolve));
}
async function deliveryStatus(id: string, wanted: string): Promise<{ status: string; attempts: number }> {
  for (;;) {
    const row = await gw.db.selectFrom('gateway.webhook_deliveries').select(['status', 'attempts']).where('id', '=', id).executeTakeFirstOrThrow();
    if (row.status === wanted) return row;
    // The row is written right after the receiver answers; wait for the worker's next write.
    await new Promise((r) => setTimeout(r, 10));
  }
}

// The dispatcher's queue, to see when a delivery's job is gone (done, nothing more to attempt).
const queue = new Queue(gw.ctx.config.webhooks.queue, { connection: { url: gw.ctx.config.redisUrl }, prefix: gw.ctx.config.webhooks.queuePrefix });
t.teardown(() => queue.close());
async function jobGone(deliveryId: string): Promise<void> {
  while (await queue.getJob(deliveryId)) await new Promise((r) => setTimeout(r, 10));
}
const deliveriesOf = (endpointId: string) =>
  gw.db.selectFrom('gateway.webhook_deliveries').select(['id', 'status', 'attempts']).where('endpoint_id', '=', endpointId).execute();

async function register(path: string, events: string[]) {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: bearer(shop.secret), payload: { url: `${base}${path}`, events } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json() as { id: string; secret: string };
}

t.test('a paid checkout session is delivered as checkout.session.completed and payment.succeeded, signed, a 500 retried', async (t) => {
  const endpoint = await register('/paid', ['checkout.session.completed', 'payment.succeeded']);
  script.set('/paid', [500]);
  const session = await gw.app.inject({
    method: 'POST', url: '/v1/checkout/sessions', headers: bearer(shop.secret),
    payload: { amount: 150_000, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: 'https://shop.example/done' },
  });
  t.equal(session.statusCode, 201, session.body);
  const s = session.json();
  const c = await newClient(gw);
  const started = await gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${s.id}/pay`, headers: c.auth, payload: { card: entered(kzCard()) } });
  t.equal(started.statusCode, 201, started.body);
  const done = await confirm(gw, c, started.json().id, await lastSmsCode(gw, c.phone));
  t.equal(done.json().status, 'succeeded');

  const verified = () => received.filter((r) => r.path === '/paid');
  // Two events, one of them answered 500 first: three requests.
  await until(() => verified().length === 3);
  const wh = new Webhook(endpoint.secret);
  const byType = new Map<string, { id: string; data: Record<string, unknown> }>();
  for (const r of verified()) {
    const payload = wh.verify(r.body, r.headers as Record<string, string>) as { id: string; type: string; data: Record<string, unknown> };
    t.equal(payload.id, r.headers['webhook-id'], 'the message id is the event id');
    byType.set(payload.type, payload);
  }
  t.same([...byType.keys()].sort(), ['checkout.session.completed', 'payment.succeeded']);
  t.equal(byType.get('checkout.session.completed')!.data.id, s.id);
  t.notOk(JSON.stringify([...byType.values()]).match(/\d{16}/), 'no card number in any body');
  t.throws(() => wh.verify(verified()[0]!.body.replace('"', ' "'), verified()[0]!.headers as Record<string, string>), 'a changed byte fails verification');

  const deliveries = await gw.db.selectFrom('gateway.webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
  t.equal(deliveries.length, 2);
  const states = await Promise.all(deliveries.map((d) => deliveryStatus(d.id, 'succeeded')));
  t.same(states.map((s) => s.attempts).sort(), [1, 2], 'the one answered 500 succeeded on its second attempt');
});

t.test('redelivery sends the same message again, through the merchant route', async (t) => {
  const endpoint = await register('/again', ['refund.succeeded']);
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'refund.succeeded', data: { id: 'r1' } }, gw.clock.now());
  const hits = () => received.filter((r) => r.path === '/again');
  await until(() => hits().length === 1);
  const [delivery] = await gw.db.selectFrom('gateway.webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
  await deliveryStatus(delivery!.id, 'succeeded');

  const res = await gw.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery!.id}/redeliver`, headers: bearer(shop.secret) });
  t.equal(res.statusCode, 202, res.body);
  await until(() => hits().length === 2);
  t.equal(hits()[1]!.headers['webhook-id'], hits()[0]!.headers['webhook-id'], 'same message id: the receiver can deduplicate');
  t.equal(hits()[1]!.body, hits()[0]!.body);
  t.equal((await deliveryStatus(delivery!.id, 'succeeded')).attempts, 2);
});

t.test('an endpoint that never answers 2xx: failed after the computed attempts, each recorded', async (t) => {
  const { attempts } = gw.ctx.config.webhooks.retry;
  t.equal(attempts, 6, '20 ms doubling within 1 s: 5 retries');
  const endpoint = await register('/dead', ['dispute.opened']);
  script.set('/dead', Array(attempts).fill(500));
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'dispute.opened', data: { id: 'd1' } }, gw.clock.now());
  await until(() => received.filter((r) => r.path === '/dead').length === attempts);
  const [delivery] = await gw.db.selectFrom('gateway.webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
  t.match(await deliveryStatus(delivery!.id, 'failed'), { status: 'failed', attempts });
  const tries = await gw.db.selectFrom('gateway.webhook_attempts').select(['status_code', 'error_class']).where('delivery_id', '=', delivery!.id).execute();
  t.same(tries.map((a) => [a.status_code, a.error_class]), Array(attempts).fill([500, 'http_status']));
});

t.test('an endpoint that does not answer in time is retried like a 500', async (t) => {
  const endpoint = await register('/slow', ['refund.failed']);
  script.set('/slow', [0]);
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'refund.failed', data: { id: 'r2' } }, gw.clock.now());
  await until(() => received.filter((r) => r.path === '/slow').length === 2);
  const [delivery] = await gw.db.selectFrom('gateway.webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
  t.match(await deliveryStatus(delivery!.id, 'succeeded'), { attempts: 2 });
  const tries = await gw.db.selectFrom('gateway.webhook_attempts').select(['status_code', 'error_class']).where('delivery_id', '=', delivery!.id).execute();
  // The test clock stands still, so both attempts carry the same time: no order assumed.
  t.same(tries.map((a) => a.status_code).sort(), [200, null]);
  t.match(tries.find((a) => a.status_code === null)?.error_class, /Timeout/i, 'the unanswered attempt timed out');
});

t.test('a disabled endpoint\'s pending delivery is not sent again', async (t) => {
  const endpoint = await register('/off', ['dispute.closed']);
  script.set('/off', [-1]);
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'dispute.closed', data: { id: 'd2' } }, gw.clock.now());
  const hits = () => received.filter((r) => r.path === '/off');
  await until(() => hits().length === 1);
  const off = await gw.app.inject({ method: 'DELETE', url: `/v1/webhook-endpoints/${endpoint.id}`, headers: bearer(shop.secret) });
  t.equal(off.statusCode, 204);
  // The first attempt fails (500) after the endpoint was disabled: its retry finds it disabled.
  releaseHeld(500);
  const [delivery] = await deliveriesOf(endpoint.id);
  await jobGone(delivery!.id);
  t.equal(hits().length, 1, 'no request after the endpoint was disabled');
  t.match(await deliveriesOf(endpoint.id), [{ status: 'pending', attempts: 1 }], 'the delivery stays as evidence, unsent');
  const again = await gw.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery!.id}/redeliver`, headers: bearer(shop.secret) });
  t.equal(again.statusCode, 409, 'and cannot be redelivered');
});

t.test('an event written in a transaction that rolls back is never delivered', async (t) => {
  const endpoint = await register('/rollback', ['checkout.session.expired']);
  const hits = () => received.filter((r) => r.path === '/rollback').map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id);
  const event = (id: string) => ({ merchantId: shop.id, livemode: false, type: 'checkout.session.expired' as const, data: { id } });
  let rollBack!: () => void;
  const undone = new Promise<void>((resolve) => { rollBack = resolve; });
  const inTransaction = gw.db.transaction().execute(async (trx) => {
    await recordMerchantEvent(trx, event('cs_undone'), gw.clock.now());
    await undone;
    throw new Error('the change fails');
  });
  // Committed while the other transaction is open: the relay runs past the uncommitted event.
  await recordMerchantEvent(gw.db, event('cs_before'), gw.clock.now());
  await until(() => hits().length === 1);
  rollBack();
  await t.rejects(inTransaction, /the change fails/);
  await recordMerchantEvent(gw.db, event('cs_after'), gw.clock.now());
  await until(() => hits().length === 2);
  t.same(hits(), ['cs_before', 'cs_after'], 'only the committed events');
  const stored = await gw.db.selectFrom('gateway.merchant_events').select('data').where('type', '=', 'checkout.session.expired').execute();
  t.same(stored.map((e) => (e.data as { id: string }).id).sort(), ['cs_after', 'cs_before'], 'the rolled-back event left no row to relay later');
});

t.test('concurrent redeliveries of one delivery make exactly one new attempt', async (t) => {
  const endpoint = await register('/twice', ['payment.failed']);
  // The redelivered attempt is held at the receiver until every redelivery has been answered.
  script.set('/twice', [200, -1]);
  await recordMerchantEvent(gw.db, { merchantId: shop.id, livemode: false, type: 'payment.failed', data: { id: 'p1' } }, gw.clock.now());
  const hits = () => received.filter((r) => r.path === '/twice');
  await until(() => hits().length === 1);
  const [delivery] = await deliveriesOf(endpoint.id);
  await deliveryStatus(delivery!.id, 'succeeded');

  // The test holds the delivery's row lock until all five redeliveries wait on it, so they race.
  const racers = 5;
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => { locked = resolve; });
  const holder = gw.db.transaction().execute(async (trx) => {
    await trx.selectFrom('gateway.webhook_deliveries').select('id').where('id', '=', delivery!.id).forUpdate().execute();
    locked();
    await released;
  });
  await isLocked;
  const answers = Promise.all(Array.from({ length: racers }, () =>
    gw.app.inject({ method: 'POST', url: `/v1/webhook-deliveries/${delivery!.id}/redeliver`, headers: bearer(shop.secret) })));
  const waiting = async () => Number((await sql<{ n: string }>`select count(*) as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock' and query like 'update "gateway"."webhook_deliveries"%'`.execute(gw.db)).rows[0]!.n);
  while (await waiting() < racers) await new Promise((r) => setTimeout(r, 10));
  release();
  await holder;
  t.same((await answers).map((r) => r.statusCode), Array(racers).fill(202), 'every caller is told it is queued');
  await until(() => hits().length === 2);
  releaseHeld(200);
  await deliveryStatus(delivery!.id, 'succeeded');
  await jobGone(delivery!.id);
  t.equal(hits().length, 2, 'one new request');
  t.match(await deliveriesOf(endpoint.id), [{ status: 'succeeded', attempts: 2 }], 'one new attempt recorded');
});
