// SP-16 (PCI DSS 3.3.1, 3.4.1, 3.5.1.1): canary cards (a Visa with a 3-digit CVV, an Amex with a
// 4-digit one) pushed through the gateway's payment flows (first payment, repeat payment, 3-D
// Secure challenge, refunds on the staff listener, a dispute, every refusal) appear nowhere: not
// in the gateway's log at trace level, not in any response body or header, not in any column of
// the gateway schema (the audit outbox included), not in Redis under the gateway's prefix, not in
// an SMS. Nor does any SHA-256 digest of them, or HMAC-SHA256 under any key the gateway holds
// (found in its loaded configuration): next to the other fields of a request, such a digest is
// reversed in some 10^8 guesses. Each scan first finds canaries planted where it must find them.
import t from 'tap';
import { createHash, createHmac, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { ManualClock } from '../../../lib/clock.js';
import { createLogger } from '../../../lib/logger.js';
import { listenAdmin, type AdminResponse } from '../../../test/support/admin.js';
import {
  amexVaultEnv, bodyDigestInputs, canaryCvv, canaryPan, canonicalJson, cardDataSearch, cardDigestInputs, digestSearch, eitherSearch, keysIn, masked,
  panForms, type CanaryCard, type CardDataSearch, type DigestedValue,
} from '../../../test/support/card-canary.js';
import { lastSmsCode } from '../../../test/support/clients.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { scanDatabase, scanRedis } from '../../../test/support/leak-scan.js';
import { startTestVault } from '../../../test/support/vault.js';
import { CARDS, newClient, paymentBody, type Client } from './world.js';

const VISA: CanaryCard = { pan: canaryPan('440043', 16), cvv: canaryCvv(3) };
/** The sandbox's cards these flows use; their numbers are searched as typed (they carry the canaries' CVVs). */
const SANDBOX_PANS = [CARDS.challenge, CARDS.declined, CARDS.mastercard, CARDS.foreignVisa, CARDS.unknownBin];
// A 4-digit CVV is searched standing alone, so it must not be a last 4 that responses may show.
const shownLast4 = new Set([VISA.pan, ...SANDBOX_PANS].map((pan) => pan.slice(-4)));
let amex: CanaryCard;
do amex = { pan: canaryPan(`37${randomInt(1000, 10_000)}`, 15), cvv: canaryCvv(4) }; while (shownLast4.has(amex.cvv) || amex.pan.endsWith(amex.cvv));
const AMEX = amex;
const CARD_SEARCH = cardDataSearch([VISA, AMEX], SANDBOX_PANS);

/** Every finding of `search` in `texts`, each with the start of the text it was found in. */
const findIn = (search: CardDataSearch, texts: readonly string[]) =>
  texts.flatMap((text) => search(text).map((what) => `${what}: ${text.slice(0, 160)}`));

t.test('SP-16: the digest search finds SHA-256 and HMAC-SHA256 digests of card data in every encoding, under every key', async (t) => {
  const keys = [{ name: 'k1', key: Buffer.alloc(32, 1) }, { name: 'k2', key: Buffer.from('token') }];
  const body = { providerId: 'kcell', card: { number: VISA.pan, cvv: VISA.cvv, expMonth: 12, expYear: 2030 } };
  const search = digestSearch([...cardDigestInputs(VISA), ...bodyDigestInputs('the body', body)], keys);
  const found = (text: string | Buffer, what: string) => t.ok(search(text).includes(what), what);
  const hmac = (key: Buffer, value: string) => createHmac('sha256', key).update(value).digest();
  const sha = (value: string) => createHash('sha256').update(value).digest();
  found(`x${sha(VISA.pan).toString('hex').toUpperCase()}`, `SHA-256 of PAN ${masked(VISA.pan)} in hex`);
  found(`"${sha(panForms(VISA.pan).spaced).toString('base64')}"`, `SHA-256 of PAN ${masked(VISA.pan)} with spaces in base64`);
  found(hmac(keys[0]!.key, VISA.cvv).toString('base64url'), `HMAC-SHA256 under k1 of CVV of ${masked(VISA.pan)} in base64url`);
  found(Buffer.concat([Buffer.from([0]), hmac(keys[1]!.key, `${VISA.pan}${VISA.cvv}`)]), `HMAC-SHA256 under k2 of PAN and CVV of ${masked(VISA.pan)} as raw bytes`);
  found(JSON.stringify({ h: [...hmac(keys[0]!.key, canonicalJson(body))] }), 'HMAC-SHA256 under k1 of the body (canonical JSON) as a logged Buffer\'s bytes');
  found(sha(JSON.stringify(body)).toString('hex'), 'SHA-256 of the body in hex');
  t.same(search(JSON.stringify({ other: sha('4400430000000007').toString('hex'), key: hmac(Buffer.alloc(32, 2), VISA.pan).toString('hex') })), [],
    'a digest of another card, or under a key not held, is not a finding');
  t.same(keysIn({ a: { b: Buffer.from('x') }, url: new URL('https://h'), n: 1 }).map((k) => k.name), ['config.a.b'], 'keysIn walks the configuration');
});

t.test('SP-16: the gateway at trace level, through payment, repeat, 3-D Secure, refund and dispute flows, holds no card data or digest of it', async (t) => {
  const logLines: string[] = [];
  const log = createLogger('gateway', 'trace', { write: (line: string) => { logLines.push(line); } });
  const clock = new ManualClock('2026-11-24T10:00:00Z');
  const vault = await startTestVault(t, { clock, env: amexVaultEnv(t) });
  const gw = await buildTestGateway(t, {
    vault: vault.client, clock, log,
    env: { PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000' },
  });
  const staffLog = log.child({ listener: 'staff' });
  const admin = await listenAdmin(t, gw.ctx, staffLog);

  const responses: string[] = [];
  const digested: DigestedValue[] = [];
  // Content-Length is a byte count of a body scanned itself; left out so a 4-digit count is not taken for the CVV.
  const headersOf = (headers: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-length')));
  const seen = (res: LightMyRequestResponse) => {
    responses.push(res.body, headersOf(res.headers));
    return res;
  };
  const staff = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminResponse> => {
    const res = await admin.call(method, path, body);
    responses.push(res.text, headersOf(res.headers));
    return res;
  };
  const inject = async (c: Client | null, method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    seen(await gw.app.inject({ method, url, headers: { ...(c ? c.auth : {}), ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) }));
  let creates = 0;
  const create = async (c: Client, card: object, key?: string) => {
    const body = paymentBody(card);
    const n = creates++;
    // A saved card's body holds only its id: no card data, so its digests are not searched for.
    if (!('cardId' in card)) digested.push(...bodyDigestInputs(`create body #${n}`, body), ...bodyDigestInputs(`the card of create body #${n}`, card));
    return inject(c, 'POST', '/v1/payments', body, key ? { 'idempotency-key': key } : {});
  };
  const confirm = async (c: Client, id: string, cvv?: string) => {
    const body = { code: await lastSmsCode(gw, c.phone), ...(cvv ? { cvv } : {}) };
    if (cvv) digested.push(...bodyDigestInputs('a confirm body with a CVV', body));
    return inject(c, 'POST', `/v1/payments/${id}/confirm`, body);
  };
  const card = (pan: string, cvv: string, extra: object = {}) => ({ number: pan, expMonth: 12, expYear: 2030, cvv, ...extra });

  const a = await newClient(gw);
  // First payment, with an Idempotency-Key, and its replay.
  const first = await create(a, card(VISA.pan, VISA.cvv), 'first');
  t.equal(first.statusCode, 201, 'first payment created');
  t.equal((await create(a, card(VISA.pan, VISA.cvv), 'first')).headers['idempotent-replayed'], 'true', 'its retry is replayed');
  t.equal((await confirm(a, first.json().id)).json().status, 'succeeded', 'first payment succeeded');
  // Repeat payment with the saved card, charged on file: the code alone (SP-14.2).
  const repeat = await create(a, { cardId: first.json().card.id }, 'repeat');
  t.equal(repeat.statusCode, 201, 'repeat payment created');
  t.equal((await confirm(a, repeat.json().id)).json().status, 'succeeded', 'repeat payment succeeded');
  // 3-D Secure challenge.
  const challenged = await create(a, card(CARDS.challenge, VISA.cvv), 'challenge');
  const action = (await confirm(a, challenged.json().id)).json();
  t.equal(action.status, 'requires_action', '3-D Secure challenge required');
  t.equal((await inject(null, 'GET', action.nextAction.url)).statusCode, 200, 'the challenge page');
  await inject(a, 'POST', `/v1/payments/${challenged.json().id}/3ds`, { result: 'pass' });
  t.equal((await inject(a, 'GET', `/v1/payments/${challenged.json().id}`)).json().status, 'succeeded', 'challenge passed');
  const amexPaid = await create(a, card(AMEX.pan, AMEX.cvv));
  t.equal((await confirm(a, amexPaid.json().id)).json().status, 'succeeded', 'Amex payment succeeded');
  await inject(a, 'GET', '/v1/payments');
  await inject(a, 'GET', '/v1/cards');

  // Refunds on the staff listener; a dispute and its case file.
  t.equal((await staff('POST', `/v1/payments/${first.json().id}/refunds`, { amount: { value: 50_000, currency: 'KZT' } })).status, 201, 'partial refund');
  t.equal((await staff('POST', `/v1/payments/${amexPaid.json().id}/refunds`, {})).status, 201, 'full refund');
  await staff('GET', '/v1/refunds?status=succeeded');
  const dispute = await inject(a, 'POST', '/v1/disputes', { paymentId: challenged.json().id, reason: 'unauthorized' });
  t.equal(dispute.statusCode, 201, 'dispute opened');
  await staff('POST', `/v1/disputes/${dispute.json().id}/notes`, { text: 'Called the client.' });
  await staff('GET', `/v1/disputes/${dispute.json().id}`);
  await staff('POST', `/v1/disputes/${dispute.json().id}/resolve`, { outcome: 'rejected', note: 'Authenticated with 3DS.' });

  // Declines and refusals that carry a card number or CVV.
  const b = await newClient(gw);
  const declined = await create(b, card(CARDS.declined, VISA.cvv));
  t.equal((await confirm(b, declined.json().id)).json().status, 'declined', 'declined by the processor');
  for (const [i, pan] of [CARDS.foreignVisa, CARDS.unknownBin].entries()) {
    t.equal((await create(b, card(pan, VISA.cvv), `refused-${i}`)).json().code, 'card_not_kz', `refused: ${masked(pan)} is not from Kazakhstan`);
  }
  const badCheckDigit = `${VISA.pan.slice(0, -1)}${(Number(VISA.pan.slice(-1)) + 1) % 10}`;
  t.equal((await create(b, card(badCheckDigit, VISA.cvv))).json().code, 'card_invalid', 'refused: a wrong check digit');
  t.equal((await create(b, card(AMEX.pan, AMEX.cvv, { expYear: 2020 }))).json().code, 'card_expired', 'refused: expired');
  t.equal((await create(b, card(AMEX.pan, VISA.cvv))).json().code, 'card_invalid', 'refused: a 3-digit CVV on an Amex');
  t.equal((await create(b, card(panForms(AMEX.pan).spaced, AMEX.cvv))).json().code, 'validation_failed', 'refused by the schema: spaces');
  t.equal((await create(b, { ...card(VISA.pan, VISA.cvv), holder: panForms(VISA.pan).dashed })).json().code, 'validation_failed', 'refused: an unknown field');
  const held = await create(b, card(CARDS.mastercard, AMEX.cvv, { expYear: 2031 }), 'mc');
  t.equal((await inject(b, 'POST', `/v1/payments/${held.json().id}/confirm`, { code: '000000' })).statusCode, 400, 'a wrong code: the CVV stays unused in the vault');

  const keys = keysIn(gw.ctx.config);
  t.ok(keys.some((k) => k.name.startsWith('config.identity.otpKeys.')), `the OTP HMAC key is among the ${keys.length} keys the gateway holds`);
  const inputs = [...cardDigestInputs(VISA), ...cardDigestInputs(AMEX), ...SANDBOX_PANS.map((pan) => ({ what: `PAN ${masked(pan)}`, value: pan })), ...digested];
  const search = eitherSearch(CARD_SEARCH, digestSearch(inputs, keys));
  const otpKey = keys.find((k) => k.name.startsWith('config.identity.otpKeys.'))!;
  const firstBody = paymentBody(card(VISA.pan, VISA.cvv));
  const planted = {
    panDashed: `card ${panForms(AMEX.pan).dashed}`,
    cvvNamed: JSON.stringify({ card: { cvv: VISA.cvv } }),
    cvvAlone: `held ${AMEX.cvv} for later`,
    bodyHmac: createHmac('sha256', otpKey.key).update(canonicalJson(firstBody)).digest(),
    panSha: createHash('sha256').update(VISA.pan).digest(),
    cvvHmac: createHmac('sha256', otpKey.key).update(AMEX.cvv).digest(),
  };
  const bodyHmacName = `HMAC-SHA256 under ${otpKey.name} of create body #0 (canonical JSON)`;

  await t.test('the log at trace level', async (t) => {
    const from = logLines.length;
    gw.app.log.debug(`careless ${planted.panDashed} ${planted.cvvAlone}`);
    gw.app.log.trace(`careless cvv=${VISA.cvv} ${planted.bodyHmac.toString('hex')} ${planted.panSha.toString('base64')}`);
    const controls = findIn(search, logLines.slice(from));
    for (const what of [`PAN ${masked(AMEX.pan)} with dashes`, `CVV of ${masked(AMEX.pan)} standing alone`, `CVV of ${masked(VISA.pan)} next to its name`,
      `${bodyHmacName} in hex`, `SHA-256 of PAN ${masked(VISA.pan)} in base64`]) {
      t.ok(controls.some((f) => f.startsWith(what)), `the log scan finds ${what}`);
    }
    logLines.length = from;
    t.ok(logLines.length >= 60, `${logLines.length} log lines`);
    t.ok(logLines.some((l) => l.includes('"listener":"staff"') && l.includes('/refunds')), 'the staff listener\'s requests were logged');
    t.ok(logLines.some((l) => l.includes('/v1/3ds/challenges/')), 'the 3-D Secure requests were logged');
    t.same(findIn(search, logLines), [], 'no card data and no digest of it in the gateway\'s log');
  });

  await t.test('every response body and header', async (t) => {
    const controls = findIn(search, [JSON.stringify({ detail: planted.panDashed }), JSON.stringify({ etag: planted.cvvHmac.toString('base64url') })]);
    t.ok(controls.some((f) => f.startsWith(`PAN ${masked(AMEX.pan)} with dashes`)), 'the response scan finds a planted PAN');
    t.ok(controls.some((f) => f.startsWith(`HMAC-SHA256 under ${otpKey.name} of CVV of ${masked(AMEX.pan)} in base64url`)), 'and a planted digest');
    t.ok(responses.length >= 60, `${responses.length / 2} responses`);
    t.ok(responses.some((r) => r.includes('"code":"card_invalid"')) && responses.some((r) => r.includes('<!doctype html>')), 'refusals and the challenge page are among them');
    t.same(findIn(search, responses), [], 'no card data and no digest of it in any response');
  });

  await t.test('every column of every gateway table', async (t) => {
    const columns = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = 'gateway'`.execute(gw.db);
    t.ok(columns.rows.length > 0, 'the gateway schema has columns');
    t.notOk(columns.rows.some((r) => /pan|cvv|cvc|card_number/i.test(r.column_name)), 'no column is meant for a PAN or CVV');

    // A scratch schema is DDL, which the gateway's role may not do: the superuser plants it.
    await sql`create schema canary_control`.execute(gw.superuserDb);
    t.teardown(() => sql`drop schema if exists canary_control cascade`.execute(gw.superuserDb));
    await sql`create table canary_control.planted (note text, doc jsonb, raw bytea)`.execute(gw.superuserDb);
    await sql`insert into canary_control.planted (note, doc, raw) values
      (${planted.panDashed}, ${planted.cvvNamed}::jsonb, ${planted.bodyHmac}),
      (${planted.panSha.toString('hex')}, ${JSON.stringify({ h: planted.cvvHmac.toString('base64') })}::jsonb, ${Buffer.from(AMEX.cvv)})`.execute(gw.superuserDb);
    const control = await scanDatabase(gw.superuserDb, search, { schemas: ['canary_control'] });
    for (const finding of [
      `canary_control.planted.note: PAN ${masked(AMEX.pan)} with dashes`,
      `canary_control.planted.doc: CVV of ${masked(VISA.pan)} next to its name`,
      `canary_control.planted.raw: ${bodyHmacName} as raw bytes`,
      `canary_control.planted.note: SHA-256 of PAN ${masked(VISA.pan)} in hex`,
      `canary_control.planted.doc: HMAC-SHA256 under ${otpKey.name} of CVV of ${masked(AMEX.pan)} in base64`,
      `canary_control.planted.raw: CVV of ${masked(AMEX.pan)} standing alone`,
    ]) t.ok(control.findings.includes(finding), `the database scan finds ${finding}`);
    await sql`drop schema canary_control cascade`.execute(gw.superuserDb);

    const scan = await scanDatabase(gw.db, search, { schemas: ['gateway'] });
    for (const column of ['gateway.idempotency_keys.request_hash', 'gateway.audit_outbox.payload', 'gateway.cards.fingerprint', 'gateway.otps.code_hash']) {
      t.ok(scan.places.has(column), `${column} scanned`);
    }
    t.ok(scan.read > 300, `${scan.read} values read in ${scan.places.size} columns`);
    t.same(scan.findings, [], 'no card data and no digest of it in any column of the gateway schema');
  });

  await t.test('Redis under the gateway\'s prefix', async (t) => {
    const redis = gw.ctx.redis;
    const plantedKey = `${gw.env.REDIS_KEY_PREFIX}canary-control:`;
    await redis.set(`${plantedKey}string`, planted.panDashed);
    await redis.hset(`${plantedKey}hash`, 'data', planted.cvvNamed);
    await redis.rpush(`${plantedKey}list`, planted.bodyHmac);
    await redis.sadd(`${plantedKey}set`, planted.cvvAlone);
    const control = await scanRedis(redis, [`${gw.env.REDIS_KEY_PREFIX}*`], search);
    for (const [type, what] of [['string', `PAN ${masked(AMEX.pan)} with dashes`], ['hash', `CVV of ${masked(VISA.pan)} next to its name`],
      ['list', `${bodyHmacName} as raw bytes`], ['set', `CVV of ${masked(AMEX.pan)} standing alone`]] as const) {
      t.ok(control.findings.includes(`${plantedKey}${type} (${type}): ${what}`), `the Redis scan finds ${what} planted in a ${type}`);
    }
    await redis.del(...['string', 'hash', 'list', 'set'].map((type) => `${plantedKey}${type}`));
    const scan = await scanRedis(redis, [`${gw.env.REDIS_KEY_PREFIX}*`], search);
    t.ok(scan.read > 5, `${scan.read} Redis keys read (${[...scan.places].join(', ')})`);
    t.same(scan.findings, [], 'no card data and no digest of it in Redis');
  });

  await t.test('the SMS outbox', async (t) => {
    const outbox = await readFile(gw.ctx.config.identity.sms.outboxFile, 'utf8');
    const messages = outbox.split('\n').filter(Boolean);
    t.ok(messages.length >= 7, `${messages.length} SMS`);
    t.same(findIn(search, messages), [], 'no card data in any SMS');
    t.notOk(outbox.includes(VISA.pan.slice(0, 12)), 'an SMS shows only the last 4');
  });
});
