// SP-16, SP-17: canary cards (a Visa with a 3-digit CVV, an Amex with a 4-digit one) pushed through
// tokenize, authorize, a 3-D Secure challenge and every refusal appear nowhere: not in any column
// of any schema (the audit store, filled by the real audit pipeline, included), not in the log at
// trace level, not in Redis (every key and value of the audit queue: the BullMQ jobs), not in any
// response body. Run against the vault app in-process (whose clock can expire a card between
// tokenize and authorize) and against the real vault and audit-worker processes. Each scan first
// finds a canary planted where it must be found, so each is shown able to fail.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ManualClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/logger.js';
import { issueCertificate } from '../../lib/pki.js';
import { amexVaultEnv, canaryCvv, canaryPan, cardDataSearch, masked, panForms, type CanaryCard, type CardDataSearch } from '../../test/support/card-canary.js';
import { startAuditWorkerProcess } from '../../test/support/audit-worker.js';
import { migratedDatabase } from '../../test/support/database.js';
import { scanDatabase, scanRedis } from '../../test/support/leak-scan.js';
import { testDataDir, testPkiDir } from '../../test/support/pki.js';
import { startProcess } from '../../test/support/processes.js';
import { TEST_REDIS_URL, uniqueName } from '../../test/support/redis.js';
import { startTestVault } from '../../test/support/vault.js';
import { recordingVaultCaller, type RecordingVaultCaller } from '../../test/support/vault-http.js';

const VISA: CanaryCard = { pan: canaryPan('440043', 16), cvv: canaryCvv(3) };
// Amex carries a 4-digit CVV, which can be searched for standing alone. Its BIN range is
// Kazakhstan's in this test's BIN table only (amexVaultEnv).
const AMEX: CanaryCard = { pan: canaryPan(`37${randomInt(1000, 10_000)}`, 15), cvv: canaryCvv(4) };
// The sandbox's declining and challenging cards carry the Visa canary's CVV.
const DECLINED_PAN = '4400430000000031';
const CHALLENGE_PAN = '4400430000000015';
const search = cardDataSearch([VISA, AMEX], [DECLINED_PAN, CHALLENGE_PAN]);

const amount = { value: 150000, currency: 'KZT' };
type Call = RecordingVaultCaller['call'];

/**
 * A valid expiry for a vault whose clock reads `now` (a test's ManualClock, or the system clock a
 * vault process reads): years after it, and within the 20 years the vault accepts, in any year the
 * suite runs.
 */
const validExpiry = (now: Date) => ({ expMonth: 12, expYear: now.getUTCFullYear() + 3 });

/** Tokenize and authorize `card`, then every refusal that carries its number or CVV; `now` is the vault's time. */
async function cardFlows(t: Test, call: Call, card: CanaryCard, client: string, now: Date): Promise<void> {
  const { unbroken, spaced, dashed } = panForms(card.pan);
  const wrongCvv = card.cvv.length === 4 ? card.cvv.slice(0, 3) : `${card.cvv}4`;
  const tokenized = await call('POST', '/v1/tokens', { pan: spaced, ...validExpiry(now), cvv: card.cvv, clientRef: client });
  t.equal(tokenized.status, 201, `${client}: tokenized, the number sent with spaces`);
  const token = tokenized.json.token as string;
  const authorize = (ref: string, extra: Record<string, unknown> = {}, clientRef = client) => call('POST', '/v1/authorizations', {
    token, clientRef, amount, merchant: 'Almaty Power', paymentRef: `${client}-${ref}`, ...extra,
  });
  t.equal((await authorize('held')).json.outcome, 'approved', 'authorized with the held CVV');
  t.equal((await authorize('sent', { cvv: card.cvv })).json.outcome, 'approved', 'authorized with the CVV in the request');
  t.equal((await authorize('none')).json.outcome, 'approved', 'SP-14.2: without a CVV (the held one was used once), charged on file');
  t.equal((await authorize('wrong', { cvv: wrongCvv })).json.code, 'card_invalid', 'refused: a CVV of the wrong length');
  t.equal((await authorize('foreign', { cvv: card.cvv }, `${client}-other`)).json.code, 'token_unknown', 'refused: another client\'s token');

  const tokenize = (body: Record<string, unknown>) => call('POST', '/v1/tokens', { pan: unbroken, ...validExpiry(now), cvv: card.cvv, clientRef: client, ...body });
  const badCheckDigit = `${unbroken.slice(0, -1)}${(Number(unbroken.slice(-1)) + 1) % 10}`;
  t.equal((await tokenize({ pan: dashed, expMonth: 1, expYear: 2020 })).json.code, 'card_expired', 'refused: expired, the number sent with dashes');
  t.equal((await tokenize({ cvv: wrongCvv })).json.code, 'card_invalid', 'refused: a CVV of the wrong length');
  t.equal((await tokenize({ pan: badCheckDigit })).json.code, 'card_invalid', 'refused: a wrong check digit');
  t.equal((await tokenize({ pan: `${spaced}x` })).json.code, 'card_invalid', 'refused: a letter in the number');
  t.equal((await tokenize({ cardholder: spaced })).json.code, 'validation_failed', 'refused: an unknown field');
  t.equal((await call('POST', '/v1/tokens', `{"pan":"${spaced}","cvv":"${card.cvv}",`)).status, 400, 'refused: malformed JSON');
}

/** The sandbox's declining card, and its challenging card with a failed challenge: authorizations that fail. */
async function failingAuthorizations(t: Test, call: Call, client: string, now: Date): Promise<void> {
  const authorize = async (pan: string, ref: string) => {
    const { json } = await call('POST', '/v1/tokens', { pan, ...validExpiry(now), cvv: VISA.cvv, clientRef: client });
    return (await call('POST', '/v1/authorizations', { token: json.token, clientRef: client, amount, merchant: 'm', paymentRef: `${client}-${ref}` })).json;
  };
  t.match(await authorize(DECLINED_PAN, 'declined'), { outcome: 'declined', declineReason: 'insufficient_funds' }, 'declined by the processor');
  const pending = await authorize(CHALLENGE_PAN, 'challenged');
  t.equal(pending.outcome, 'challenge_required');
  t.equal((await call('GET', `/v1/challenges/${pending.challenge.ref}`)).json.status, 'pending');
  t.match((await call('POST', `/v1/challenges/${pending.challenge.ref}/complete`, { result: 'fail' })).json,
    { outcome: 'declined', declineReason: 'authentication_failed' }, 'declined: the 3-D Secure challenge failed');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = async (db: Kysely<any>, query: RawBuilder<{ n: number }>) => (await query.execute(db)).rows[0]!.n;
const unpublished = sql<{ n: number }>`select count(*)::int as n from vault.audit_outbox where published_at is null`;
const outbox = sql<{ n: number }>`select count(*)::int as n from vault.audit_outbox`;
const stored = sql<{ n: number }>`select count(*)::int as n from audit.events where source = 'vault'`;

/** Every finding of `search` in `texts`, each with the start of the text it was found in. */
const findIn = (texts: readonly string[], find: CardDataSearch = search) =>
  texts.flatMap((text) => find(text).map((what) => `${what}: ${text.slice(0, 200)}`));

/**
 * The audit queue's keys in Redis while the audit jobs wait: first the scan must find canaries
 * planted in a value of every Redis type under the queue's own prefix, then (planted keys
 * deleted) nothing.
 */
async function redisHasNoCardData(t: Test, queueName: string, eventsWaiting: number): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  t.teardown(() => redis.disconnect());
  const queuePattern = `bull:${queueName}:*`;
  const planted = `bull:${queueName}:canary-control:`;
  await redis.set(`${planted}string`, JSON.stringify({ card: panForms(VISA.pan).spaced }));
  await redis.hset(`${planted}hash`, 'data', JSON.stringify({ cvv: VISA.cvv }));
  await redis.rpush(`${planted}list`, Buffer.from(AMEX.pan).toString('hex'));
  await redis.sadd(`${planted}set`, Buffer.concat([Buffer.from('x'), Buffer.from(VISA.pan)]).toString('base64'));
  await redis.zadd(`${planted}zset`, 1, `held ${AMEX.cvv}`);
  await redis.xadd(`${planted}stream`, '*', 'pan', Buffer.from(AMEX.pan));
  const control = await scanRedis(redis, [queuePattern], search);
  for (const type of ['string', 'hash', 'list', 'set', 'zset', 'stream']) {
    t.ok(control.findings.some((f) => f.startsWith(`${planted}${type} (${type})`)), `the Redis scan finds the canary planted in a ${type}`);
  }
  await redis.del(...['string', 'hash', 'list', 'set', 'zset', 'stream'].map((type) => `${planted}${type}`));

  const queue = new Queue(queueName, { connection: { url: TEST_REDIS_URL } });
  t.teardown(() => queue.close());
  const jobs = await queue.getJobs(['waiting']);
  t.equal(jobs.flatMap((j) => j.data.eventIds).length, eventsWaiting, `${jobs.length} audit jobs wait in BullMQ naming the ${eventsWaiting} events`);
  const scan = await scanRedis(redis, [queuePattern], search);
  t.ok(scan.read > jobs.length, `${scan.read} Redis keys read (${[...scan.places].join(', ')})`);
  t.same(scan.findings, [], 'no card data in Redis: the audit queue\'s keys and the BullMQ jobs');
}

/**
 * Every column of every schema once the audit store holds the events: first the scan must find
 * canaries planted in a scratch schema of the test's database (text, jsonb, bytea), then
 * (schema dropped) nothing.
 */
async function databaseHasNoCardData(t: Test, db: Kysely<any>): Promise<void> {
  await sql`create schema canary_control`.execute(db);
  await sql`create table canary_control.planted (note text, doc jsonb, raw bytea)`.execute(db);
  await sql`insert into canary_control.planted (note, doc, raw) values
    (${`card ${panForms(AMEX.pan).dashed}`}, ${JSON.stringify({ card: { cvv: VISA.cvv } })}::jsonb, ${Buffer.from(VISA.pan)}),
    (null, null, ${Buffer.from(AMEX.cvv)}), (null, null, ${Buffer.from(VISA.cvv)})`.execute(db);
  const control = await scanDatabase(db, search);
  for (const finding of [
    `canary_control.planted.note: PAN ${masked(AMEX.pan)} with dashes`,
    `canary_control.planted.doc: CVV of ${masked(VISA.pan)} next to its name`,
    `canary_control.planted.raw: PAN ${masked(VISA.pan)} as digits`,
    `canary_control.planted.raw: CVV of ${masked(AMEX.pan)} standing alone`,
    `canary_control.planted.raw: CVV of ${masked(VISA.pan)} as a whole value`,
  ]) t.ok(control.findings.includes(finding), `the database scan finds ${finding}`);
  await sql`drop schema canary_control cascade`.execute(db);

  const scan = await scanDatabase(db, search);
  for (const column of ['vault.cards.card_ciphertext', 'vault.cards.bin6', 'vault.authorizations.merchant', 'audit.events.payload', 'audit.events.hash']) {
    t.ok(scan.places.has(column), `${column} scanned`);
  }
  t.ok(scan.read > 200, `${scan.read} values read in ${scan.places.size} columns`);
  t.same(scan.findings, [], 'no card data in any column of any schema');
}

/** Every response body: first the search must find a canary in a planted body, then nothing. */
function bodiesHaveNoCardData(t: Test, callers: RecordingVaultCaller[]): void {
  const bodies = callers.flatMap((c) => c.bodies);
  const planted = JSON.stringify({ detail: `card ${panForms(VISA.pan).dashed} refused` });
  t.ok(findIn([...bodies, planted]).some((f) => f.startsWith(`PAN ${masked(VISA.pan)} with dashes`)), 'the body search finds a planted canary');
  t.ok(bodies.some((b) => b.includes('"code":"card_invalid"')) && bodies.some((b) => b.includes('"outcome":"declined"')), 'error answers are among the bodies');
  t.same(findIn(bodies), [], `no card data in ${bodies.length} response bodies`);
}

t.test('SP-16: the canary search finds card data in every form, and not what may be shown', async (t) => {
  const { spaced, dashed } = panForms(AMEX.pan);
  const panBytes = Buffer.from(AMEX.pan);
  const found = (text: string | Buffer, what: string) => t.ok(search(text).includes(what), `${what} in ${typeof text === 'string' ? text.slice(0, 60) : 'bytes'}`);
  found(`{"pan":"${spaced}"}`, `PAN ${masked(AMEX.pan)} with spaces`);
  found(`{"pan":"${dashed}"}`, `PAN ${masked(AMEX.pan)} with dashes`);
  found(`pan=${AMEX.pan.slice(0, 3)} ${AMEX.pan.slice(3, 9)}-${AMEX.pan.slice(9)}`, `PAN ${masked(AMEX.pan)} as digits`);
  found(`${AMEX.pan.slice(0, -4)}****`, `PAN ${masked(AMEX.pan)} first digits beyond the BIN`);
  found(`******${AMEX.pan.slice(6)}`, `PAN ${masked(AMEX.pan)} last digits before the last four`);
  found(`\\x${panBytes.toString('hex').toUpperCase()}`, `PAN ${masked(AMEX.pan)} in hex`);
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 7), panBytes, Buffer.from('tail')]).toString('base64');
    found(b64, `PAN ${masked(AMEX.pan)} in base64 (alignment ${shift})`);
    found(Buffer.concat([Buffer.alloc(shift, 0xff), panBytes]).toString('base64url'), `PAN ${masked(AMEX.pan)} in base64url (alignment ${shift})`);
  }
  found(JSON.stringify({ raw: panBytes }), `PAN ${masked(AMEX.pan)} as a logged Buffer's bytes`);
  found(Buffer.concat([Buffer.from([0, 1]), panBytes]), `PAN ${masked(AMEX.pan)} as digits`);
  found(`${DECLINED_PAN}`, `PAN ${masked(DECLINED_PAN)} as digits`);

  const cvvName = `CVV of ${masked(AMEX.pan)}`;
  found(`"x":"${AMEX.cvv}"`, `${cvvName} standing alone`);
  found(`{"cvv":"${VISA.cvv}"}`, `CVV of ${masked(VISA.pan)} next to its name`);
  found(`cvc2=${VISA.cvv}`, `CVV of ${masked(VISA.pan)} next to its name`);
  found(`"${VISA.cvv}"`, `CVV of ${masked(VISA.pan)} as a whole value`);
  found(`\\x${Buffer.from(VISA.cvv).toString('hex')}`, `CVV of ${masked(VISA.pan)} in hex`);
  found(`{"c":"${Buffer.from(AMEX.cvv).toString('base64')}"}`, `${cvvName} in base64`);
  found(JSON.stringify({ c: Buffer.from(VISA.cvv) }), `CVV of ${masked(VISA.pan)} as a logged Buffer's bytes`);

  const shown = JSON.stringify({
    bin6: AMEX.pan.slice(0, 6), last4: AMEX.pan.slice(-4), masked: `${AMEX.pan.slice(0, 6)}*****${AMEX.pan.slice(-4)}`,
    at: `2026-11-24T10:00:00.${VISA.cvv}Z`, id: `0193${AMEX.cvv}-${AMEX.cvv}-7abc-8def-${VISA.cvv}${AMEX.cvv}12345`, n: Number(`${VISA.cvv}1`),
    amount: 150000, ip: `${VISA.cvv}.0.0.1`, ms: Number(`12.${AMEX.cvv}`),
  });
  t.same(search(shown), [], 'the first six, the last four, timestamps, ids, numbers and addresses are not card data');
});

t.test('SP-16: pino redaction hides card fields wherever a careless caller puts them, at every level', async (t) => {
  const lines: string[] = [];
  const log = createLogger('vault', 'trace', { write: (line: string) => { lines.push(line); } });
  const { spaced } = panForms(VISA.pan);
  log.trace({ pan: VISA.pan, cvv: VISA.cvv }, 'careless');
  log.debug({ card: { number: spaced, cvv: AMEX.cvv }, body: { pan: AMEX.pan, cvv: AMEX.cvv, expMonth: 1 } }, 'careless');
  log.info({ req: { body: { pan: spaced, cvv: VISA.cvv } } }, 'careless');
  t.same(findIn(lines), []);
  t.same(lines.map((line) => line.includes('[REDACTED]')), [true, true, true]);
});

t.test('SP-16: the vault app in-process: the canaries are nowhere after tokenize, authorize and the audit pipeline', async (t) => {
  const { url: databaseUrl, db } = await migratedDatabase(t, ['vault', 'audit']);
  const logLines: string[] = [];
  const logStream = { write: (line: string) => { logLines.push(line); } };
  const clock = new ManualClock();
  const vault = await startTestVault(t, { databaseUrl, clock, relay: true, logStream, env: amexVaultEnv(t) });
  const caller = recordingVaultCaller(t, vault.url);

  // The log scan must find what a careless debug or trace line would write, through the vault's logger.
  vault.log.debug(`careless ${panForms(AMEX.pan).spaced} ${AMEX.cvv}`);
  // A Buffer as a log field makes the redactor throw (@pinojs/redact 0.4): one goes in as JSON text.
  vault.log.trace(`careless ${JSON.stringify({ raw: Buffer.from(VISA.pan) })}`);
  const planted = findIn(logLines);
  for (const what of [`PAN ${masked(AMEX.pan)} with spaces`, `CVV of ${masked(AMEX.pan)} standing alone`, `PAN ${masked(VISA.pan)} as a logged Buffer's bytes`]) {
    t.ok(planted.some((f) => f.startsWith(what)), `the log scan finds ${what} logged at debug or trace`);
  }
  logLines.length = 0;

  await cardFlows(t, caller.call, VISA, 'client-visa', clock.now());
  await cardFlows(t, caller.call, AMEX, 'client-amex', clock.now());
  await failingAuthorizations(t, caller.call, 'client-sandbox', clock.now());
  // Valid when tokenized, expired by the time of the authorization: the vault's own decline.
  const expiring = await caller.call('POST', '/v1/tokens', { pan: panForms(VISA.pan).dashed, expMonth: 11, expYear: 2026, clientRef: 'client-expiry' });
  t.equal(expiring.status, 201);
  clock.set('2027-01-05T10:00:00Z');
  t.match((await caller.call('POST', '/v1/authorizations', {
    token: expiring.json.token, clientRef: 'client-expiry', cvv: VISA.cvv, amount, merchant: 'm', paymentRef: 'expired',
  })).json, { outcome: 'declined', declineReason: 'card_expired' }, 'declined: expired since tokenized');

  await until('every audit event published to BullMQ', async () => await count(db, unpublished) === 0);
  const events = await count(db, outbox);
  await t.test('Redis, while the audit jobs wait', (t) => redisHasNoCardData(t, vault.auditQueue, events));

  const worker = await startAuditWorkerProcess(t, databaseUrl, vault.auditQueue, { LOG_LEVEL: 'trace' });
  await until('every audit event stored', async () => await count(db, outbox) === 0);
  t.equal(await count(db, stored), events, `the audit store holds the ${events} vault events`);

  await t.test('every column of every schema', (t) => databaseHasNoCardData(t, db));
  await t.test('Redis, once the audit jobs are done', async (t) => {
    const redis = new Redis(TEST_REDIS_URL);
    t.teardown(() => redis.disconnect());
    t.same((await scanRedis(redis, [`bull:${vault.auditQueue}:*`], search)).findings, []);
  });
  await t.test('the log at trace level', async (t) => {
    t.ok(logLines.length >= 40, `${logLines.length} log lines`);
    t.ok(logLines.some((l) => l.includes('"level":30') && l.includes('/v1/authorizations')), 'requests were logged');
    t.same(findIn(logLines), [], 'no card data in the vault\'s log');
    // Stopped first, so every line it wrote has been read.
    await worker.stop();
    const workerLines = worker.output().split('\n');
    t.same(findIn(workerLines), [], `no card data in the audit worker's output (${workerLines.length} lines)`);
  });
  await t.test('every response body', async (t) => bodiesHaveNoCardData(t, [caller]));
});

t.test('SP-16: the real vault and audit-worker processes at LOG_LEVEL=trace: the canaries are nowhere', async (t) => {
  const { url: databaseUrl, db } = await migratedDatabase(t, ['vault', 'audit']);
  const queueName = uniqueName('vault-audit');
  const queue = new Queue(queueName, { connection: { url: TEST_REDIS_URL } });
  t.teardown(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });
  const common = { NODE_ENV: 'test', LOG_LEVEL: 'trace', DATA_DIR: testDataDir(), REDIS_URL: TEST_REDIS_URL, AUDIT_QUEUE: queueName };
  const vault = await startProcess(t, 'vault/src/server.ts', { ...common, DATABASE_URL: databaseUrl, VAULT_PORT: '0', ...amexVaultEnv(t) });
  const url = `https://127.0.0.1:${String(vault.ready.port)}`;
  const caller = recordingVaultCaller(t, url);

  // The control canary: a certificate of the internal CA whose name carries a card number and
  // CVV, refused (not on the allow-list). The vault logs and audits the refused name, so the
  // control must be found in the process output and in the audit store. The scans for the
  // canaries do not look for it.
  let control: CanaryCard;
  do control = { pan: canaryPan('440043', 16), cvv: canaryCvv(4) }; while (control.cvv === AMEX.cvv);
  const controlSearch = cardDataSearch([control]);
  const ca = { certPem: readFileSync(join(testPkiDir(), 'ca.crt'), 'utf8'), keyPem: readFileSync(join(testPkiDir(), 'ca.key'), 'utf8') };
  const impostor = issueCertificate({ commonName: `${panForms(control.pan).spaced} cvv ${control.cvv}`, usage: 'client', issuer: ca });
  const refused = recordingVaultCaller(t, url, { cert: impostor.certPem, key: impostor.keyPem });
  t.equal((await refused.call('POST', '/v1/tokens', { pan: VISA.pan, cvv: VISA.cvv })).status, 403, 'the control certificate is refused');

  // The vault process reads the system clock.
  const now = new Date();
  await cardFlows(t, caller.call, VISA, 'client-visa', now);
  await cardFlows(t, caller.call, AMEX, 'client-amex', now);
  await failingAuthorizations(t, caller.call, 'client-sandbox', now);

  await until('every audit event published to BullMQ', async () => await count(db, unpublished) === 0);
  const events = await count(db, outbox);
  await t.test('Redis, while the audit jobs wait', (t) => redisHasNoCardData(t, queueName, events));

  const worker = await startAuditWorkerProcess(t, databaseUrl, queueName, { LOG_LEVEL: 'trace' });
  await until('every audit event stored', async () => await count(db, outbox) === 0);
  t.equal(await count(db, stored), events, `the audit store holds the ${events} vault events`);

  await t.test('every column of every schema', async (t) => {
    const controlScan = await scanDatabase(db, controlSearch);
    t.ok(controlScan.findings.some((f) => f.startsWith('audit.events.payload: ')), 'the database scan finds the control canary in the audit store');
    await databaseHasNoCardData(t, db);
  });
  await t.test('Redis, once the audit jobs are done', async (t) => {
    const redis = new Redis(TEST_REDIS_URL);
    t.teardown(() => redis.disconnect());
    t.same((await scanRedis(redis, [`bull:${queueName}:*`], search)).findings, []);
  });
  await t.test('the processes\' output at trace level', async (t) => {
    // Stopped first, so every line they wrote has been read.
    await vault.stop();
    await worker.stop();
    const vaultLines = vault.output().split('\n');
    const workerLines = worker.output().split('\n');
    t.ok(findIn(vaultLines, controlSearch).some((f) => f.includes('vault refused a client certificate')), 'the output scan finds the control canary the vault logged');
    t.ok(vaultLines.length >= 40, `${vaultLines.length} vault output lines`);
    t.ok(vaultLines.some((l) => l.includes('"level":30') && l.includes('/v1/authorizations')), 'requests were logged');
    t.same(findIn(vaultLines), [], 'no card data in the vault\'s output');
    t.same(findIn(workerLines), [], `no card data in the audit worker's output (${workerLines.length} lines)`);
  });
  await t.test('every response body', async (t) => bodiesHaveNoCardData(t, [caller, refused]));
});
