// SP-21 "every client action, once": every route of the public and staff listeners, taken from
// Fastify's own route table (a new route without a row here fails), is called for its success
// and for each refusal it can give; each call must leave exactly the expected events in the
// gateway's outbox (one per action: never none, never twice), and a refusal must change nothing
// but the outbox.
import t, { type Test } from 'tap';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { publicApp } from '../src/app.js';
import { adminApp } from '../src/admin/admin.app.js';
import { listenAdmin, type AdminClient } from '../../test/support/admin.js';
import { buildTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { lastSmsCode, randomKzPhone, verifyPhone, type OutboxEvent } from '../../test/support/clients.js';
import { startAuditWorkerProcess } from '../../test/support/audit-worker.js';
import { bearer, createTestKey, createTestMerchant } from '../../test/support/merchants.js';
import { freePort } from '../../test/support/net.js';
import { recordMerchantEvent } from '../src/merchants/merchant-events.js';
import { relayMerchantEvents } from '../src/webhooks/relay.js';
import { CARDS, confirm, create, entered, kzCard, newClient, pay, paymentBody, paymentsWorld, type Client } from './payments/world.js';

type Expect = [action: string, outcome: 'success' | 'failure' | 'refused', reason?: string];
interface Res { status: number; text?: string }
interface Case {
  name: string;
  status: number;
  expect: Expect[];
  run: () => Promise<Res>;
  /** What the case needs done first; its events are not the case's. */
  setup?: () => Promise<void>;
  /** A refusal the contract lets change state (a wrong password counts towards the lock). */
  changes?: true;
}
interface Row {
  listener: 'public' | 'staff';
  method: string;
  url: string;
  /** Unset: not an action (probes), never audited. */
  action?: string;
  /** Behind app.authenticate: also called with no session (401) and a blocked client's (403). */
  auth?: true;
  /** Behind app.authenticateMerchant: also called with no key and with a revoked one (401). */
  merchantAuth?: true;
  cases: Case[];
}

const exportPort = await freePort();
const { gw } = await paymentsWorld(t, { env: { THREE_DS_SANDBOX_PAGES: 'true', VERIFICATION_RATE_LIMIT_PER_MINUTE: '100000', LOGIN_RATE_LIMIT_PER_MINUTE: '100000', MERCHANT_AUTH_FAILURES_MAX: '100000', AUDIT_EXPORT_URL: `https://127.0.0.1:${exportPort}` } });
await startAuditWorkerProcess(t, gw.databaseUrl, gw.env.AUDIT_QUEUE!, { AUDIT_EXPORT_PORT: String(exportPort) });
const admin = await listenAdmin(t, gw.ctx);

async function routeTable(listener: 'public' | 'staff'): Promise<Array<{ method: string; url: string }>> {
  const routes: Array<{ method: string; url: string }> = [];
  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  await app.register(listener === 'public' ? publicApp : adminApp, { ctx: gw.ctx });
  await app.ready();
  await app.close();
  return routes;
}

async function outboxIds(g: TestGateway): Promise<Set<string>> {
  return new Set((await g.db.selectFrom('gateway.audit_outbox').select('event_id').execute()).map((r) => r.event_id));
}

async function newEvents(g: TestGateway, before: Set<string>): Promise<OutboxEvent[]> {
  const rows = await g.db.selectFrom('gateway.audit_outbox').select(['event_id', 'payload']).orderBy('event_id').execute();
  return rows.filter((r) => !before.has(r.event_id)).map((r) => r.payload as OutboxEvent);
}

/**
 * Every gateway table but the outbox, as one digest: what a refusal must leave as it was. A
 * session's last_seen_at is left out: any authenticated call moves it (at most once a minute).
 */
async function stateDigest(g: TestGateway): Promise<string> {
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables
    where table_schema = 'gateway' and table_type = 'BASE TABLE' and table_name not in ('audit_outbox', 'kysely_migration', 'kysely_migration_lock')
    order by table_name`.execute(g.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const r = await sql<{ d: string | null }>`select md5(string_agg((to_jsonb(x) - 'last_seen_at')::text, ',' order by (to_jsonb(x) - 'last_seen_at')::text)) as d from ${sql.table(`gateway.${table_name}`)} x`.execute(g.db);
    parts.push(`${table_name}:${r.rows[0]?.d ?? ''}`);
  }
  return parts.join(' ');
}

const pub = (method: string, url: string, opts: { headers?: Record<string, string>; payload?: object } = {}, g: TestGateway = gw) => async (): Promise<Res> => {
  const res = await g.app.inject({ method: method as 'GET', url, ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.payload ? { payload: opts.payload } : {}) });
  return { status: res.statusCode, text: res.body };
};
const staff = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, as: 'admin' | 'gateway' = 'admin', client: AdminClient = admin) => async (): Promise<Res> => {
  const res = await client.call(method, url, body, as);
  return { status: res.status, text: res.text };
};

async function check(t: Test, g: TestGateway, c: Case): Promise<void> {
  await c.setup?.();
  const before = await outboxIds(g);
  const refusal = c.status >= 400 && !c.changes;
  const stateBefore = refusal ? await stateDigest(g) : '';
  const res = await c.run();
  t.equal(res.status, c.status, `${c.name}: status (${res.text?.slice(0, 160)})`);
  const events = await newEvents(g, before);
  t.same(events.map((e) => [e.action, e.outcome]).sort(), c.expect.map(([a, o]) => [a, o]).sort(), `${c.name}: exactly the expected events`);
  for (const [action, outcome, reason] of c.expect) {
    if (reason === undefined) continue;
    const e = events.find((x) => x.action === action && x.outcome === outcome);
    t.equal(e?.details?.['reason'], reason, `${c.name}: ${action} says why`);
  }
  if (refusal) t.equal(await stateDigest(g), stateBefore, `${c.name}: the refusal changed nothing else`);
}

// ---- the world the cases act on ----------------------------------------------------------
const A = await newClient(gw);
const paidA = await pay(gw, A, entered(kzCard()));
const cardA = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: A.auth })).json().data[0].id as string;
const blocked = await newClient(gw);
if ((await admin.call('POST', `/v1/clients/${blocked.clientId}/block`, { reason: 'table test' })).status !== 200) throw new Error('block failed');
const B = await newClient(gw);
const NOPE = '01900000-0000-7000-8000-000000000000';
const M = await createTestMerchant(admin);
const revokedKey = await createTestKey(admin, M.id);
if ((await admin.call('DELETE', `/v1/merchants/${M.id}/keys/${revokedKey.id}`)).status !== 204) throw new Error('revoke failed');
let keyToRevoke = '';
const merchantCall = (method: string, url: string, payload?: object) => pub(method, url, { headers: bearer(M.secret), ...(payload ? { payload } : {}) });
const sessionBody = { amount: 150_000, currency: 'KZT', params: { phone: '+77011234567' }, returnUrl: 'https://shop.example/done' };
async function checkoutSession(): Promise<string> {
  const res = await merchantCall('POST', '/v1/checkout/sessions', sessionBody)();
  if (res.status !== 201) throw new Error(`session: ${res.text}`);
  return JSON.parse(res.text!).id;
}
const UNKNOWN_SESSION = `cs_test_${'A'.repeat(43)}`;
const sessionToRead = await checkoutSession();
const sessionToExpire = await checkoutSession();
const sessionToPay = await checkoutSession();
const payer = await newClient(gw);
const secondPayer = await newClient(gw);
/** A payment of a checkout session of M, confirmed: what the merchant reads and refunds. */
async function merchantPayment(): Promise<string> {
  const res = await gw.app.inject({ method: 'POST', url: `/v1/checkout/sessions/${await checkoutSession()}/pay`, headers: payer.auth, payload: { card: { cardId: payerPaid.created.card.id } } });
  if (res.statusCode !== 201) throw new Error(`pay: ${res.body}`);
  await confirm(gw, payer, res.json().id, await lastSmsCode(gw, payer.phone));
  return res.json().id;
}
const payerPaid = await pay(gw, payer, entered(kzCard()));
const merchantPaid = await merchantPayment();
const hookBody = { url: 'http://127.0.0.1:9/hook', events: ['dispute.opened'] };
async function webhookEndpoint(): Promise<string> {
  const res = await merchantCall('POST', '/v1/webhook-endpoints', hookBody)();
  if (res.status !== 201) throw new Error(`endpoint: ${res.text}`);
  return JSON.parse(res.text!).id;
}
const endpointToRead = await webhookEndpoint();
const endpointToRotate = await webhookEndpoint();
const endpointToDelete = await webhookEndpoint();
await recordMerchantEvent(gw.db, { merchantId: M.id, livemode: false, type: 'dispute.opened', data: { id: 'sp21' } }, gw.clock.now());
const [deliveryToRedeliver] = await relayMerchantEvents(gw.db, gw.clock.now());

async function pendingPayment(c: Client, card: object): Promise<string> {
  const res = await create(gw, c, paymentBody(card));
  if (res.statusCode !== 201) throw new Error(`create: ${res.body}`);
  return res.json().id;
}
let toConfirm = '';
const toFail = await pendingPayment(A, { cardId: cardA });
async function challengedPayment() {
  const id = await pendingPayment(A, entered(CARDS.challenge));
  const res = await confirm(gw, A, id, await lastSmsCode(gw, A.phone));
  return { id, ref: (res.json().nextAction.url as string).split('/').pop()! };
}
const challenged = await challengedPayment();
const toView = await challengedPayment();
const idempotent = { ...B.auth, 'idempotency-key': 'table-key-1' };
const idempotentCard = kzCard();
if ((await create(gw, B, paymentBody(entered(idempotentCard)), { 'idempotency-key': 'table-key-1' })).statusCode !== 201) throw new Error('idempotent create failed');
const disputed = await pay(gw, A, { cardId: cardA });
const refundable = await pay(gw, A, { cardId: cardA });
const wrongPassword = 'Wrong-Horse-77';
const locked = await newClient(gw);
for (let i = 0; i < 3; i++) await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: locked.phone, password: wrongPassword } });
const changer = await newClient(gw);
const resetter = await newClient(gw);
let disputeId = '';
let token = '';
let other: Client = A;
// A second code to the same phone within a minute is refused (SP-9): the clock moves on first.
const resetToken = async () => {
  gw.clock.advance(61_000);
  token = (await verifyPhone(gw, resetter.phone, 'password_reset')).verificationToken;
};
let passwordChangeId = '';
let verificationId = '';

const unknownPhone = randomKzPhone();
const rows: Row[] = [
  { listener: 'public', method: 'GET', url: '/healthz', cases: [{ name: 'liveness', status: 200, expect: [], run: pub('GET', '/healthz') }] },
  { listener: 'public', method: 'GET', url: '/readyz', cases: [{ name: 'readiness', status: 200, expect: [], run: pub('GET', '/readyz') }] },
  // The API's published description: the same document for everyone, no client's action.
  { listener: 'public', method: 'GET', url: '/openapi.json', cases: [{ name: 'description', status: 200, expect: [], run: pub('GET', '/openapi.json') }] },
  // The bank's pages (issue 16) are documents, like the probes not actions: they read and change
  // nothing; each API call a page then makes is audited by its own row below.
  { listener: 'public', method: 'GET', url: '/', cases: [{ name: 'page', status: 200, expect: [], run: pub('GET', '/') }] },
  { listener: 'public', method: 'GET', url: '/checkout/:sessionId', cases: [{ name: 'page', status: 200, expect: [], run: pub('GET', '/checkout/cs_test_a1B2c3D4e5') }] },
  { listener: 'public', method: 'GET', url: '/assets/:file', cases: [{ name: 'unknown asset', status: 404, expect: [], run: pub('GET', '/assets/app.00000000000000000000.js') }] },
  {
    listener: 'public', method: 'POST', url: '/v1/verifications', action: 'otp.sent', cases: [
      { name: 'start', status: 202, expect: [['otp.sent', 'success']], run: async () => {
        const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: unknownPhone } });
        verificationId = res.json().verificationId;
        return { status: res.statusCode, text: res.body };
      } },
      { name: 'validation', status: 400, expect: [['otp.sent', 'refused', 'validation_failed']], run: pub('POST', '/v1/verifications', { payload: { phone: 1 } }) },
      { name: 'not a KZ phone', status: 400, expect: [['otp.sent', 'refused', 'phone_invalid']], run: pub('POST', '/v1/verifications', { payload: { phone: '+15555550100' } }) },
      { name: 'unknown SMS language', status: 400, expect: [['otp.sent', 'refused', 'validation_failed']], run: pub('POST', '/v1/verifications', { payload: { phone: unknownPhone, language: 'de' } }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/verifications/:id/confirm', action: 'verification.confirmed', cases: [
      { name: 'wrong code', status: 400, changes: true, expect: [['otp.failed', 'failure']], run: async () => pub('POST', `/v1/verifications/${verificationId}/confirm`, { payload: { code: (Number(await lastSmsCode(gw, unknownPhone)) + 1).toString().padStart(6, '0').slice(-6) } })() },
      { name: 'confirm', status: 200, expect: [['verification.confirmed', 'success']], run: async () => pub('POST', `/v1/verifications/${verificationId}/confirm`, { payload: { code: await lastSmsCode(gw, unknownPhone) } })() },
      { name: 'unknown', status: 400, expect: [['verification.confirmed', 'refused']], run: pub('POST', `/v1/verifications/${NOPE}/confirm`, { payload: { code: '123456' } }) },
      { name: 'validation', status: 400, expect: [['verification.confirmed', 'refused', 'validation_failed']], run: pub('POST', `/v1/verifications/${NOPE}/confirm`, { payload: { code: 'abc' } }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/registrations', action: 'client.registered', cases: [
      { name: 'register', status: 201, expect: [['client.registered', 'success']],
        setup: async () => { token = (await verifyPhone(gw, randomKzPhone())).verificationToken; },
        run: async () => pub('POST', '/v1/registrations', { payload: { verificationToken: token, name: 'Table Test', birthDate: '1990-05-17', password: 'Steppe-Wind-42' } })() },
      { name: 'bad token', status: 400, expect: [['client.registered', 'refused', 'verification_invalid']], run: pub('POST', '/v1/registrations', { payload: { verificationToken: 'x'.repeat(43), name: 'Table Test', birthDate: '1990-05-17', password: 'Steppe-Wind-42' } }) },
      { name: 'validation', status: 400, expect: [['client.registered', 'refused', 'validation_failed']], run: pub('POST', '/v1/registrations', { payload: {} }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/password-resets', action: 'password.reset', cases: [
      { name: 'wrong birth date', status: 401, changes: true, expect: [['password.reset', 'failure']], setup: resetToken,
        run: async () => pub('POST', '/v1/password-resets', { payload: { verificationToken: token, birthDate: '1991-01-01', newPassword: 'Another-Steppe-43' } })() },
      { name: 'reset', status: 204, expect: [['password.reset', 'success']], setup: resetToken,
        run: async () => pub('POST', '/v1/password-resets', { payload: { verificationToken: token, birthDate: '1990-05-17', newPassword: 'Another-Steppe-43' } })() },
      { name: 'validation', status: 400, expect: [['password.reset', 'refused', 'validation_failed']], run: pub('POST', '/v1/password-resets', { payload: {} }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/sessions', action: 'session.login', cases: [
      { name: 'login', status: 201, expect: [['session.login', 'success']], run: pub('POST', '/v1/sessions', { payload: { phone: B.phone, password: B.password } }) },
      { name: 'wrong password', status: 401, changes: true, expect: [['session.login', 'failure', 'invalid_credentials']], run: pub('POST', '/v1/sessions', { payload: { phone: B.phone, password: wrongPassword } }) },
      { name: 'locked', status: 423, expect: [['session.login', 'refused', 'login_locked']], run: pub('POST', '/v1/sessions', { payload: { phone: locked.phone, password: locked.password } }) },
      { name: 'blocked client', status: 403, changes: true, expect: [['session.login', 'refused', 'client_blocked']], run: pub('POST', '/v1/sessions', { payload: { phone: blocked.phone, password: blocked.password } }) },
      { name: 'not a KZ phone', status: 400, expect: [['session.login', 'refused', 'phone_invalid']], run: pub('POST', '/v1/sessions', { payload: { phone: '+15555550100', password: wrongPassword } }) },
      { name: 'validation', status: 400, expect: [['session.login', 'refused', 'validation_failed']], run: pub('POST', '/v1/sessions', { payload: { phone: B.phone } }) },
    ],
  },
  {
    listener: 'public', method: 'DELETE', url: '/v1/sessions/current', action: 'session.logout', auth: true, cases: [
      { name: 'page session without its CSRF token', status: 403, expect: [['session.logout', 'refused', 'forbidden']], run: async () => pub('DELETE', '/v1/sessions/current', { headers: { host: 'localhost:8443', origin: 'https://localhost:8443', cookie: `__Host-pgw_session=${A.token}` } })() },
      { name: 'logout', status: 204, expect: [['session.logout', 'success']], setup: async () => { other = await newClient(gw); }, run: async () => pub('DELETE', '/v1/sessions/current', { headers: other.auth })() },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/me', action: 'profile.read', auth: true, cases: [
      { name: 'read', status: 200, expect: [['profile.read', 'success']], run: pub('GET', '/v1/me', { headers: A.auth }) },
    ],
  },
  {
    listener: 'public', method: 'PATCH', url: '/v1/me', action: 'profile.updated', auth: true, cases: [
      { name: 'SMS language', status: 200, expect: [['profile.updated', 'success']], run: pub('PATCH', '/v1/me', { headers: A.auth, payload: { language: 'ru' } }) },
      { name: 'unknown language', status: 400, expect: [['profile.updated', 'refused', 'validation_failed']], run: pub('PATCH', '/v1/me', { headers: A.auth, payload: { language: 'de' } }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/password-changes', action: 'password_change.requested', auth: true, cases: [
      { name: 'wrong current password', status: 400, changes: true, expect: [['password_change.requested', 'failure', 'password_incorrect']], run: pub('POST', '/v1/password-changes', { headers: changer.auth, payload: { currentPassword: wrongPassword, newPassword: 'Third-Steppe-44' } }) },
      { name: 'policy', status: 400, expect: [['password_change.requested', 'refused', 'password_digits_only']], run: pub('POST', '/v1/password-changes', { headers: changer.auth, payload: { currentPassword: changer.password, newPassword: '1234567890123' } }) },
      { name: 'start', status: 202, expect: [['otp.sent', 'success']], run: async () => {
        const res = await gw.app.inject({ method: 'POST', url: '/v1/password-changes', headers: changer.auth, payload: { currentPassword: changer.password, newPassword: 'Third-Steppe-44' } });
        passwordChangeId = res.json().passwordChangeId;
        return { status: res.statusCode, text: res.body };
      } },
      { name: 'validation', status: 400, expect: [['password_change.requested', 'refused', 'validation_failed']], run: pub('POST', '/v1/password-changes', { headers: changer.auth, payload: {} }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/password-changes/:id/confirm', action: 'password.changed', auth: true, cases: [
      { name: 'wrong code', status: 400, changes: true, expect: [['otp.failed', 'failure']], run: async () => pub('POST', `/v1/password-changes/${passwordChangeId}/confirm`, { headers: changer.auth, payload: { code: (Number(await lastSmsCode(gw, changer.phone)) + 1).toString().padStart(6, '0').slice(-6) } })() },
      { name: 'confirm', status: 204, expect: [['password.changed', 'success']], run: async () => pub('POST', `/v1/password-changes/${passwordChangeId}/confirm`, { headers: changer.auth, payload: { code: await lastSmsCode(gw, changer.phone) } })() },
      { name: 'validation', status: 400, expect: [['password.changed', 'refused', 'validation_failed']], run: pub('POST', `/v1/password-changes/${NOPE}/confirm`, { headers: A.auth, payload: { code: 'x' } }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/providers', action: 'providers.listed', auth: true, cases: [
      { name: 'list', status: 200, expect: [['providers.listed', 'success']], run: pub('GET', '/v1/providers', { headers: A.auth }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/cards', action: 'cards.listed', auth: true, cases: [
      { name: 'list', status: 200, expect: [['cards.listed', 'success']], run: pub('GET', '/v1/cards', { headers: A.auth }) },
    ],
  },
  {
    listener: 'public', method: 'DELETE', url: '/v1/cards/:id', action: 'card.removed', auth: true, cases: [
      { name: 'unknown card', status: 404, expect: [['card.removed', 'refused', 'not_found']], run: pub('DELETE', `/v1/cards/${NOPE}`, { headers: A.auth }) },
      { name: 'another client\'s card', status: 404, expect: [['card.removed', 'refused', 'not_found']], run: pub('DELETE', `/v1/cards/${cardA}`, { headers: B.auth }) },
      { name: 'validation', status: 400, expect: [['card.removed', 'refused', 'validation_failed']], run: pub('DELETE', '/v1/cards/nope', { headers: A.auth }) },
      // The vault's deletion after the commit is the system's own action (card.vault_purged).
      { name: 'remove', status: 204, expect: [['card.removed', 'success'], ['card.vault_purged', 'success']], setup: async () => {
        other = await newClient(gw);
        await pay(gw, other, entered(kzCard()));
        token = (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: other.auth })).json().data[0].id;
      }, run: async () => pub('DELETE', `/v1/cards/${token}`, { headers: other.auth })() },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/payments', action: 'payment.create', auth: true, cases: [
      { name: 'create', status: 201, expect: [['card.saved', 'success'], ['payment.created', 'success'], ['payment.code_sent', 'success']], run: pub('POST', '/v1/payments', { headers: B.auth, payload: paymentBody(entered(kzCard())) }) },
      { name: 'foreign card', status: 422, expect: [['payment.create', 'refused', 'card_not_kz']], run: pub('POST', '/v1/payments', { headers: B.auth, payload: paymentBody(entered(CARDS.foreignVisa)) }) },
      { name: 'unknown provider', status: 400, expect: [['payment.create', 'refused', 'provider_unknown']], run: pub('POST', '/v1/payments', { headers: B.auth, payload: paymentBody(entered(kzCard()), { providerId: 'nope' }) }) },
      { name: 'idempotency conflict', status: 409, expect: [['payment.create', 'refused', 'idempotency_conflict']], run: async () => {
        return pub('POST', '/v1/payments', { headers: idempotent, payload: paymentBody(entered(idempotentCard), { amount: { value: 150_001, currency: 'KZT' } }) })();
      } },
      { name: 'another client\'s card', status: 404, expect: [['payment.create', 'refused', 'not_found']], run: pub('POST', '/v1/payments', { headers: B.auth, payload: paymentBody({ cardId: cardA }) }) },
      { name: 'validation', status: 400, expect: [['payment.create', 'refused', 'validation_failed']], run: pub('POST', '/v1/payments', { headers: B.auth, payload: {} }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/payments/:id/confirm', action: 'payment.confirm', auth: true, cases: [
      { name: 'wrong code', status: 400, changes: true, expect: [['payment.confirm', 'failure']], run: async () => pub('POST', `/v1/payments/${toFail}/confirm`, { headers: A.auth, payload: { code: (Number(await lastSmsCode(gw, A.phone)) + 1).toString().padStart(6, '0').slice(-6) } })() },
      { name: 'unknown', status: 404, expect: [['payment.confirm', 'refused', 'not_found']], run: pub('POST', `/v1/payments/${NOPE}/confirm`, { headers: A.auth, payload: { code: '123456' } }) },
      { name: 'confirm', status: 200, expect: [['payment.confirmed', 'success'], ['payment.three_ds', 'success'], ['payment.authorized', 'success']], setup: async () => { toConfirm = await pendingPayment(A, { cardId: cardA }); }, run: async () => pub('POST', `/v1/payments/${toConfirm}/confirm`, { headers: A.auth, payload: { code: await lastSmsCode(gw, A.phone) } })() },
      { name: 'confirmed already: answered with its state', status: 200, expect: [['payment.confirm', 'success']], run: pub('POST', `/v1/payments/${paidA.created.id}/confirm`, { headers: A.auth, payload: { code: '123456' } }) },
      { name: 'validation', status: 400, expect: [['payment.confirm', 'refused', 'validation_failed']], run: pub('POST', `/v1/payments/${toConfirm}/confirm`, { headers: A.auth, payload: {} }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/payments/:id', action: 'payment.read', auth: true, cases: [
      { name: 'read', status: 200, expect: [['payment.read', 'success']], run: pub('GET', `/v1/payments/${paidA.created.id}`, { headers: A.auth }) },
      { name: 'another client\'s', status: 404, expect: [['payment.read', 'refused', 'not_found']], run: pub('GET', `/v1/payments/${paidA.created.id}`, { headers: B.auth }) },
      { name: 'validation', status: 400, expect: [['payment.read', 'refused', 'validation_failed']], run: pub('GET', '/v1/payments/nope', { headers: A.auth }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/payments', action: 'payments.listed', auth: true, cases: [
      { name: 'list', status: 200, expect: [['payments.listed', 'success']], run: pub('GET', '/v1/payments', { headers: A.auth }) },
      { name: 'validation', status: 400, expect: [['payments.listed', 'refused', 'validation_failed']], run: pub('GET', '/v1/payments?limit=0', { headers: A.auth }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/disputes', action: 'dispute.opened', auth: true, cases: [
      { name: 'open', status: 201, expect: [['dispute.opened', 'success']], run: async () => {
        const res = await gw.app.inject({ method: 'POST', url: '/v1/disputes', headers: A.auth, payload: { paymentId: disputed.created.id, reason: 'unauthorized' } });
        disputeId = res.json().id;
        return { status: res.statusCode, text: res.body };
      } },
      { name: 'again', status: 409, expect: [['dispute.opened', 'refused', 'dispute_exists']], run: pub('POST', '/v1/disputes', { headers: A.auth, payload: { paymentId: disputed.created.id, reason: 'unauthorized' } }) },
      { name: 'another client\'s payment', status: 404, expect: [['dispute.opened', 'refused', 'not_found']], run: pub('POST', '/v1/disputes', { headers: B.auth, payload: { paymentId: disputed.created.id, reason: 'unauthorized' } }) },
      { name: 'validation', status: 400, expect: [['dispute.opened', 'refused', 'validation_failed']], run: pub('POST', '/v1/disputes', { headers: A.auth, payload: { paymentId: disputed.created.id } }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/payments/:id/3ds', action: 'payment.three_ds_answer', auth: true, cases: [
      { name: 'unknown', status: 404, expect: [['payment.three_ds_answer', 'refused', 'not_found']], run: pub('POST', `/v1/payments/${NOPE}/3ds`, { headers: A.auth, payload: { result: 'pass' } }) },
      { name: 'validation', status: 400, expect: [['payment.three_ds_answer', 'refused', 'validation_failed']], run: pub('POST', `/v1/payments/${challenged.id}/3ds`, { headers: A.auth, payload: { result: 'maybe' } }) },
      { name: 'answer', status: 200, expect: [['payment.three_ds_answer', 'success'], ['payment.three_ds', 'success'], ['payment.authorized', 'success']], run: pub('POST', `/v1/payments/${challenged.id}/3ds`, { headers: A.auth, payload: { result: 'pass' } }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/3ds/challenges/:ref', action: 'three_ds.challenge_viewed', cases: [
      { name: 'view', status: 200, expect: [['three_ds.challenge_viewed', 'success']], run: pub('GET', `/v1/3ds/challenges/${toView.ref}`) },
      { name: 'answered already', status: 409, expect: [['three_ds.challenge_viewed', 'refused']], run: pub('GET', `/v1/3ds/challenges/${challenged.ref}`) },
      { name: 'unknown', status: 404, expect: [['three_ds.challenge_viewed', 'refused']], run: pub('GET', '/v1/3ds/challenges/chl_AAAAAAAAAAAAAAAAAAAAAA') },
      { name: 'validation', status: 400, expect: [['three_ds.challenge_viewed', 'refused', 'validation_failed']], run: pub('GET', '/v1/3ds/challenges/x') },
    ],
  },
  // ---- the staff listener ----
  { listener: 'staff', method: 'GET', url: '/healthz', cases: [{ name: 'liveness', status: 200, expect: [], run: staff('GET', '/healthz') }] },
  {
    listener: 'staff', method: 'GET', url: '/v1/sandbox/sms-codes/latest', action: 'sandbox.sms_code_read', cases: [
      { name: 'latest code', status: 200, expect: [['sandbox.sms_code_read', 'success']], run: staff('GET', `/v1/sandbox/sms-codes/latest?phone=${encodeURIComponent(A.phone)}`) },
      { name: 'no SMS to that phone', status: 404, expect: [['sandbox.sms_code_read', 'refused', 'not_found']], run: staff('GET', `/v1/sandbox/sms-codes/latest?phone=${encodeURIComponent(randomKzPhone())}`) },
      { name: 'validation', status: 400, expect: [['sandbox.sms_code_read', 'refused', 'validation_failed']], run: staff('GET', '/v1/sandbox/sms-codes/latest?phone=12345') },
    ],
  },
  ...[true, false].map((block): Row => {
    const action = block ? 'client.blocked' : 'client.unblocked';
    const path = (id: string) => `/v1/clients/${id}/${block ? 'block' : 'unblock'}`;
    return {
      listener: 'staff', method: 'POST', url: `/v1/clients/:clientId/${block ? 'block' : 'unblock'}`, action, cases: [
        { name: block ? 'block' : 'unblock', status: 200, expect: [[action, 'success']], run: staff('POST', path(B.clientId), { reason: 'table test' }) },
        { name: 'unknown', status: 404, expect: [[action, 'refused', 'not_found']], run: staff('POST', path(NOPE), { reason: 'table test' }) },
        { name: 'validation', status: 400, expect: [[action, 'refused', 'validation_failed']], run: staff('POST', path(B.clientId), { reason: 'x' }) },
      ],
    };
  }),
  {
    listener: 'staff', method: 'GET', url: '/v1/disputes', action: 'disputes.listed', cases: [
      { name: 'list', status: 200, expect: [['disputes.listed', 'success']], run: staff('GET', '/v1/disputes') },
      { name: 'validation', status: 400, expect: [['disputes.listed', 'refused', 'validation_failed']], run: staff('GET', '/v1/disputes?status=maybe') },
    ],
  },
  {
    listener: 'staff', method: 'GET', url: '/v1/disputes/:id', action: 'dispute.case_read', cases: [
      { name: 'read', status: 200, expect: [['dispute.case_read', 'success']], run: async () => staff('GET', `/v1/disputes/${disputeId}`)() },
      { name: 'unknown', status: 404, expect: [['dispute.case_read', 'refused', 'not_found']], run: staff('GET', `/v1/disputes/${NOPE}`) },
      { name: 'validation', status: 400, expect: [['dispute.case_read', 'refused', 'validation_failed']], run: staff('GET', '/v1/disputes/nope') },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/disputes/:id/notes', action: 'dispute.note_added', cases: [
      { name: 'note', status: 201, expect: [['dispute.note_added', 'success']], run: async () => staff('POST', `/v1/disputes/${disputeId}/notes`, { text: 'called the client' })() },
      { name: 'unknown', status: 404, expect: [['dispute.note_added', 'refused', 'not_found']], run: staff('POST', `/v1/disputes/${NOPE}/notes`, { text: 'x' }) },
      { name: 'validation', status: 400, expect: [['dispute.note_added', 'refused', 'validation_failed']], run: staff('POST', `/v1/disputes/${NOPE}/notes`, { text: '' }) },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/disputes/:id/resolve', action: 'dispute.resolved', cases: [
      { name: 'resolve', status: 200, expect: [['dispute.resolved', 'success']], run: async () => staff('POST', `/v1/disputes/${disputeId}/resolve`, { outcome: 'rejected' })() },
      { name: 'again', status: 409, expect: [['dispute.resolved', 'refused']], run: async () => staff('POST', `/v1/disputes/${disputeId}/resolve`, { outcome: 'rejected' })() },
      { name: 'unknown', status: 404, expect: [['dispute.resolved', 'refused', 'not_found']], run: staff('POST', `/v1/disputes/${NOPE}/resolve`, { outcome: 'rejected' }) },
      { name: 'validation', status: 400, expect: [['dispute.resolved', 'refused', 'validation_failed']], run: staff('POST', `/v1/disputes/${NOPE}/resolve`, { outcome: 'maybe' }) },
    ],
  },
  {
    listener: 'staff', method: 'GET', url: '/v1/refunds', action: 'refunds.listed', cases: [
      { name: 'list', status: 200, expect: [['refunds.listed', 'success']], run: staff('GET', '/v1/refunds') },
      { name: 'validation', status: 400, expect: [['refunds.listed', 'refused', 'validation_failed']], run: staff('GET', '/v1/refunds?limit=0') },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/payments/:id/refunds', action: 'refund.requested', cases: [
      { name: 'refund', status: 201, expect: [['refund.requested', 'success'], ['refund.succeeded', 'success']], run: staff('POST', `/v1/payments/${refundable.created.id}/refunds`, { amount: { value: 1000, currency: 'KZT' } }) },
      { name: 'more than paid', status: 422, expect: [['refund.requested', 'refused', 'refund_not_allowed']], run: staff('POST', `/v1/payments/${refundable.created.id}/refunds`, { amount: { value: 10_000_000, currency: 'KZT' } }) },
      { name: 'unknown', status: 404, expect: [['refund.requested', 'refused', 'not_found']], run: staff('POST', `/v1/payments/${NOPE}/refunds`, {}) },
      { name: 'validation', status: 400, expect: [['refund.requested', 'refused', 'validation_failed']], run: staff('POST', `/v1/payments/${NOPE}/refunds`, { amount: 5 }) },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/merchants', action: 'merchant.created', cases: [
      { name: 'create', status: 201, expect: [['merchant.created', 'success']], run: staff('POST', '/v1/merchants', { name: 'Table Shop', providerId: 'kcell', returnOrigins: ['https://table.example'] }) },
      { name: 'unknown provider', status: 400, expect: [['merchant.created', 'refused', 'provider_unknown']], run: staff('POST', '/v1/merchants', { name: 'Table Shop', providerId: 'no-such', returnOrigins: ['https://table.example'] }) },
      { name: 'validation', status: 400, expect: [['merchant.created', 'refused', 'validation_failed']], run: staff('POST', '/v1/merchants', { name: 'Table Shop', providerId: 'kcell', returnOrigins: ['http://table.example'] }) },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/merchants/:id/keys', action: 'merchant_key.created', cases: [
      { name: 'create', status: 201, expect: [['merchant_key.created', 'success']], run: async () => {
        const res = await admin.call('POST', `/v1/merchants/${M.id}/keys`, { mode: 'live' });
        keyToRevoke = res.json().id;
        return { status: res.status, text: res.text };
      } },
      { name: 'unknown merchant', status: 404, expect: [['merchant_key.created', 'refused', 'not_found']], run: staff('POST', `/v1/merchants/${NOPE}/keys`, { mode: 'test' }) },
      { name: 'validation', status: 400, expect: [['merchant_key.created', 'refused', 'validation_failed']], run: staff('POST', `/v1/merchants/${M.id}/keys`, { mode: 'prod' }) },
    ],
  },
  {
    listener: 'staff', method: 'GET', url: '/v1/merchants/:id/keys', action: 'merchant_keys.listed', cases: [
      { name: 'list', status: 200, expect: [['merchant_keys.listed', 'success']], run: staff('GET', `/v1/merchants/${M.id}/keys`) },
      { name: 'unknown merchant', status: 404, expect: [['merchant_keys.listed', 'refused', 'not_found']], run: staff('GET', `/v1/merchants/${NOPE}/keys`) },
    ],
  },
  {
    listener: 'staff', method: 'DELETE', url: '/v1/merchants/:id/keys/:keyId', action: 'merchant_key.revoked', cases: [
      { name: 'revoke', status: 204, expect: [['merchant_key.revoked', 'success']], run: async () => staff('DELETE', `/v1/merchants/${M.id}/keys/${keyToRevoke}`)() },
      { name: 'already revoked', status: 404, expect: [['merchant_key.revoked', 'refused', 'not_found']], run: staff('DELETE', `/v1/merchants/${M.id}/keys/${revokedKey.id}`) },
      { name: 'validation', status: 400, expect: [['merchant_key.revoked', 'refused', 'validation_failed']], run: staff('DELETE', `/v1/merchants/${M.id}/keys/42`) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/merchant', action: 'merchant.read', merchantAuth: true, cases: [
      { name: 'read', status: 200, changes: true, expect: [['merchant.read', 'success']], run: pub('GET', '/v1/merchant', { headers: bearer(M.secret) }) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/checkout/sessions', action: 'checkout_session.create', merchantAuth: true, cases: [
      { name: 'create', status: 201, expect: [['checkout_session.created', 'success']], run: merchantCall('POST', '/v1/checkout/sessions', sessionBody) },
      { name: 'return URL of another origin', status: 400, expect: [['checkout_session.create', 'refused', 'return_url_not_allowed']], run: merchantCall('POST', '/v1/checkout/sessions', { ...sessionBody, returnUrl: 'https://evil.example/' }) },
      { name: 'validation', status: 400, expect: [['checkout_session.create', 'refused', 'validation_failed']], run: merchantCall('POST', '/v1/checkout/sessions', {}) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/checkout/sessions/:id', action: 'checkout_session.read', merchantAuth: true, cases: [
      { name: 'read', status: 200, changes: true, expect: [['checkout_session.read', 'success']], run: merchantCall('GET', `/v1/checkout/sessions/${sessionToRead}`) },
      { name: 'unknown', status: 404, expect: [['checkout_session.read', 'refused', 'not_found']], run: merchantCall('GET', `/v1/checkout/sessions/${UNKNOWN_SESSION}`) },
      { name: 'validation', status: 400, expect: [['checkout_session.read', 'refused', 'validation_failed']], run: merchantCall('GET', '/v1/checkout/sessions/nope') },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/checkout/sessions/:id/expire', action: 'checkout_session.expire', merchantAuth: true, cases: [
      { name: 'expire', status: 200, expect: [['checkout_session.expired', 'success']], run: merchantCall('POST', `/v1/checkout/sessions/${sessionToExpire}/expire`) },
      { name: 'unknown', status: 404, expect: [['checkout_session.expire', 'refused', 'not_found']], run: merchantCall('POST', `/v1/checkout/sessions/${UNKNOWN_SESSION}/expire`) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/checkout/sessions/:id/public', action: 'checkout_session.public_read', cases: [
      { name: 'read', status: 200, expect: [['checkout_session.public_read', 'success']], run: pub('GET', `/v1/checkout/sessions/${sessionToRead}/public`) },
      { name: 'unknown', status: 404, expect: [['checkout_session.public_read', 'refused', 'not_found']], run: pub('GET', `/v1/checkout/sessions/${UNKNOWN_SESSION}/public`) },
      { name: 'validation', status: 400, expect: [['checkout_session.public_read', 'refused', 'validation_failed']], run: pub('GET', '/v1/checkout/sessions/nope/public') },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/checkout/sessions/:id/pay', action: 'checkout_session.pay', auth: true, cases: [
      { name: 'pay', status: 201, expect: [['card.saved', 'success'], ['payment.created', 'success'], ['payment.code_sent', 'success']], run: pub('POST', `/v1/checkout/sessions/${sessionToPay}/pay`, { headers: secondPayer.auth, payload: { card: entered(kzCard()) } }) },
      { name: 'a payment in progress', status: 409, expect: [['checkout_session.pay', 'refused', 'checkout_session_used']], run: pub('POST', `/v1/checkout/sessions/${sessionToPay}/pay`, { headers: payer.auth, payload: { card: { cardId: payerPaid.created.card.id } } }) },
      { name: 'unknown', status: 404, expect: [['checkout_session.pay', 'refused', 'not_found']], run: pub('POST', `/v1/checkout/sessions/${UNKNOWN_SESSION}/pay`, { headers: payer.auth, payload: { card: { cardId: payerPaid.created.card.id } } }) },
      { name: 'an amount in the body', status: 400, expect: [['checkout_session.pay', 'refused', 'validation_failed']], run: pub('POST', `/v1/checkout/sessions/${sessionToRead}/pay`, { headers: payer.auth, payload: { card: { cardId: payerPaid.created.card.id }, amount: { value: 1, currency: 'KZT' } } }) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/merchant/payments', action: 'merchant_payments.listed', merchantAuth: true, cases: [
      { name: 'list', status: 200, changes: true, expect: [['merchant_payments.listed', 'success']], run: merchantCall('GET', '/v1/merchant/payments') },
      { name: 'validation', status: 400, expect: [['merchant_payments.listed', 'refused', 'validation_failed']], run: merchantCall('GET', '/v1/merchant/payments?limit=0') },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/merchant/payments/:id', action: 'merchant_payment.read', merchantAuth: true, cases: [
      { name: 'read', status: 200, changes: true, expect: [['merchant_payment.read', 'success']], run: merchantCall('GET', `/v1/merchant/payments/${merchantPaid}`) },
      { name: 'a client\'s own payment', status: 404, expect: [['merchant_payment.read', 'refused', 'not_found']], run: merchantCall('GET', `/v1/merchant/payments/${payerPaid.created.id}`) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/merchant/refunds', action: 'merchant_refund.request', merchantAuth: true, cases: [
      { name: 'refund', status: 201, expect: [['refund.requested', 'success'], ['refund.succeeded', 'success']], run: merchantCall('POST', '/v1/merchant/refunds', { paymentId: merchantPaid, amount: 1000 }) },
      { name: 'over-refund', status: 422, expect: [['merchant_refund.request', 'refused', 'refund_not_allowed']], run: merchantCall('POST', '/v1/merchant/refunds', { paymentId: merchantPaid, amount: 150_000 }) },
      { name: 'a client\'s own payment', status: 404, expect: [['merchant_refund.request', 'refused', 'not_found']], run: merchantCall('POST', '/v1/merchant/refunds', { paymentId: payerPaid.created.id }) },
      { name: 'validation', status: 400, expect: [['merchant_refund.request', 'refused', 'validation_failed']], run: merchantCall('POST', '/v1/merchant/refunds', {}) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/webhook-endpoints', action: 'webhook_endpoint.create', merchantAuth: true, cases: [
      { name: 'create', status: 201, expect: [['webhook_endpoint.created', 'success']], run: merchantCall('POST', '/v1/webhook-endpoints', hookBody) },
      { name: 'a metadata address', status: 400, expect: [['webhook_endpoint.create', 'refused', 'webhook_url_not_allowed']], run: merchantCall('POST', '/v1/webhook-endpoints', { ...hookBody, url: 'https://169.254.169.254/' }) },
      { name: 'validation', status: 400, expect: [['webhook_endpoint.create', 'refused', 'validation_failed']], run: merchantCall('POST', '/v1/webhook-endpoints', {}) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/webhook-endpoints', action: 'webhook_endpoints.listed', merchantAuth: true, cases: [
      { name: 'list', status: 200, changes: true, expect: [['webhook_endpoints.listed', 'success']], run: merchantCall('GET', '/v1/webhook-endpoints') },
    ],
  },
  {
    listener: 'public', method: 'DELETE', url: '/v1/webhook-endpoints/:id', action: 'webhook_endpoint.disable', merchantAuth: true, cases: [
      { name: 'disable', status: 204, expect: [['webhook_endpoint.disabled', 'success']], run: merchantCall('DELETE', `/v1/webhook-endpoints/${endpointToDelete}`) },
      { name: 'unknown', status: 404, expect: [['webhook_endpoint.disable', 'refused', 'not_found']], run: merchantCall('DELETE', `/v1/webhook-endpoints/${NOPE}`) },
      { name: 'validation', status: 400, expect: [['webhook_endpoint.disable', 'refused', 'validation_failed']], run: merchantCall('DELETE', '/v1/webhook-endpoints/42') },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/webhook-endpoints/:id/rotate-secret', action: 'webhook_endpoint.rotate_secret', merchantAuth: true, cases: [
      { name: 'rotate', status: 200, expect: [['webhook_endpoint.secret_rotated', 'success']], run: merchantCall('POST', `/v1/webhook-endpoints/${endpointToRotate}/rotate-secret`) },
      { name: 'unknown', status: 404, expect: [['webhook_endpoint.rotate_secret', 'refused', 'not_found']], run: merchantCall('POST', `/v1/webhook-endpoints/${NOPE}/rotate-secret`) },
    ],
  },
  {
    listener: 'public', method: 'GET', url: '/v1/webhook-endpoints/:id/deliveries', action: 'webhook_deliveries.listed', merchantAuth: true, cases: [
      { name: 'list', status: 200, changes: true, expect: [['webhook_deliveries.listed', 'success']], run: merchantCall('GET', `/v1/webhook-endpoints/${endpointToRead}/deliveries`) },
      { name: 'unknown', status: 404, expect: [['webhook_deliveries.listed', 'refused', 'not_found']], run: merchantCall('GET', `/v1/webhook-endpoints/${NOPE}/deliveries`) },
    ],
  },
  {
    listener: 'public', method: 'POST', url: '/v1/webhook-deliveries/:id/redeliver', action: 'webhook_delivery.redeliver', merchantAuth: true, cases: [
      { name: 'redeliver', status: 202, expect: [['webhook_delivery.redelivered', 'success']], run: merchantCall('POST', `/v1/webhook-deliveries/${deliveryToRedeliver}/redeliver`) },
      { name: 'unknown', status: 404, expect: [['webhook_delivery.redeliver', 'refused', 'not_found']], run: merchantCall('POST', `/v1/webhook-deliveries/${NOPE}/redeliver`) },
    ],
  },
  {
    listener: 'staff', method: 'GET', url: '/v1/webhook-deliveries', action: 'webhook_deliveries.listed', cases: [
      { name: 'list', status: 200, expect: [['webhook_deliveries.listed', 'success']], run: staff('GET', `/v1/webhook-deliveries?merchantId=${M.id}&status=pending`) },
      { name: 'validation', status: 400, expect: [['webhook_deliveries.listed', 'refused', 'validation_failed']], run: staff('GET', '/v1/webhook-deliveries') },
    ],
  },
  {
    listener: 'staff', method: 'POST', url: '/v1/webhook-deliveries/:id/redeliver', action: 'webhook_delivery.redeliver', cases: [
      { name: 'redeliver', status: 202, expect: [['webhook_delivery.redelivered', 'success']], run: staff('POST', `/v1/webhook-deliveries/${deliveryToRedeliver}/redeliver`) },
      { name: 'unknown', status: 404, expect: [['webhook_delivery.redeliver', 'refused', 'not_found']], run: staff('POST', `/v1/webhook-deliveries/${NOPE}/redeliver`) },
    ],
  },
  ...(['clients', 'payments'] as const).map((kind): Row => {
    const id = kind === 'clients' ? A.clientId : paidA.created.id;
    const range = 'from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z';
    return {
      listener: 'staff', method: 'GET', url: `/v1/${kind}/:id/audit`, action: 'audit.exported', cases: [
        { name: 'export', status: 200, expect: [['audit.exported', 'success']], run: staff('GET', `/v1/${kind}/${id}/audit?${range}`) },
        { name: 'validation', status: 400, expect: [['audit.exported', 'refused', 'validation_failed']], run: staff('GET', `/v1/${kind}/${id}/audit?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`) },
      ],
    };
  }),
];

t.test('SP-21: the table has one row per route of each listener, and each audited route a success', async (t) => {
  for (const listener of ['public', 'staff'] as const) {
    const routes = (await routeTable(listener)).map((r) => `${r.method} ${r.url}`).sort();
    t.ok(routes.length > 5, `${listener}: Fastify lists its routes`);
    t.same(rows.filter((r) => r.listener === listener).map((r) => `${r.method} ${r.url}`).sort(), routes, `${listener}: every route has a row`);
  }
  for (const row of rows) {
    if (row.action) t.ok(row.cases.some((c) => c.status < 400), `${row.method} ${row.url} has a success case`);
  }
});

for (const row of rows) {
  t.test(`SP-21: ${row.listener} ${row.method} ${row.url}`, async (t) => {
    t.ok(row.cases.length > 0, 'the row has cases');
    for (const c of row.cases) await check(t, gw, c);
    if (row.auth) {
      const url = row.url.replace(':id', NOPE);
      const payload = row.method === 'GET' || row.method === 'DELETE' ? undefined : {};
      await check(t, gw, { name: 'no session', status: 401, expect: [[row.action!, 'refused', 'unauthorized']], run: pub(row.method, url, { ...(payload ? { payload } : {}) }) });
      await check(t, gw, { name: 'blocked client', status: 403, expect: [[row.action!, 'refused', 'client_blocked']], run: pub(row.method, url, { headers: blocked.auth, ...(payload ? { payload } : {}) }) });
    }
    if (row.merchantAuth) {
      const url = row.url.replace(':id', NOPE);
      const payload = row.method === 'GET' || row.method === 'DELETE' ? undefined : {};
      await check(t, gw, { name: 'no key', status: 401, expect: [[row.action!, 'refused', 'api_key_invalid']], run: pub(row.method, url, { ...(payload ? { payload } : {}) }) });
      await check(t, gw, { name: 'a client session', status: 401, expect: [[row.action!, 'refused', 'api_key_invalid']], run: pub(row.method, url, { headers: A.auth, ...(payload ? { payload } : {}) }) });
      await check(t, gw, { name: 'revoked key', status: 401, expect: [[row.action!, 'refused', 'api_key_revoked']], run: pub(row.method, url, { headers: bearer(revokedKey.secret), ...(payload ? { payload } : {}) }) });
    }
  });
}

t.test('SP-21: a 429 is recorded once per client address, route and minute, not once per refused request', async (t) => {
  // Another instance of the same gateway (same database and Redis counters) whose limits the
  // traffic so far has passed. Routes behind a session or a key are called with one: their
  // authentication runs first.
  const limited = await buildTestGateway(t, { instanceOf: gw, vault: gw.ctx.vault, env: { RATE_LIMIT_MAX: '1', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1', LOGIN_RATE_LIMIT_PER_MINUTE: '1' } });
  const audited = rows.filter((r) => r.listener === 'public' && r.action);
  t.ok(audited.length > 10, 'public audited routes');
  for (const row of audited) {
    const url = row.url.replace(':id', NOPE).replace(':ref', 'chl_AAAAAAAAAAAAAAAAAAAAAA');
    const run = pub(row.method, url, row.auth ? { headers: A.auth } : row.merchantAuth ? { headers: bearer(M.secret) } : {}, limited);
    await check(t, gw, { name: `${row.method} ${row.url} flooded`, status: 429, expect: [[row.action!, 'refused', 'rate_limited']], run });
    await check(t, gw, { name: `${row.method} ${row.url} flooded again`, status: 429, expect: [], run });
  }
});

t.test('SP-17, SP-21: a refused staff certificate is recorded as a staff action, once a minute per certificate and address', async (t) => {
  await check(t, gw, { name: 'service certificate on the staff listener', status: 403, expect: [['staff.connection.refused', 'refused', 'peer_not_allowed']], run: staff('GET', '/v1/refunds', undefined, 'gateway') });
  const events = (await newEvents(gw, new Set())).filter((e) => e.action === 'staff.connection.refused');
  t.same(events.map((e) => e.actor), [{ type: 'staff', id: 'gateway' }], 'the certificate\'s name is the actor');
  await check(t, gw, { name: 'the flood that follows', status: 403, expect: [], run: staff('POST', `/v1/clients/${B.clientId}/block`, { reason: 'let me in' }, 'gateway') });
  await check(t, gw, { name: 'on the probe too', status: 403, expect: [], run: staff('GET', '/healthz', undefined, 'gateway') });
});
