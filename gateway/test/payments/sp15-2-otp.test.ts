import t from 'tap';
import { auditEvents, freshCodes, lastSmsCode, sentSms } from '../../../test/support/clients.js';
import { expirePayments } from '../../src/payments/payments.confirm.js';
import { CARDS, confirm, create, entered, newClient, paymentBody, paymentsWorld, relogin } from './world.js';

const { gw, vault, clock } = await paymentsWorld(t);

async function authorizations(paymentId: string): Promise<number> {
  const rows = await vault.db.selectFrom('vault.authorizations').select('id').where('payment_ref', '=', paymentId).execute();
  return rows.length;
}

t.test('SP-15.2: every card payment sends a code naming the amount, the provider and the card\'s last 4', async (t) => {
  const c = await newClient(gw);
  const res = await create(gw, c, paymentBody(entered(CARDS.mastercard), { amount: { value: 12_345_678, currency: 'KZT' }, providerId: 'alseco', params: { account: '123456789', period: '2026-11' } }));
  t.equal(res.statusCode, 201);
  t.equal(res.json().status, 'requires_confirmation');
  const sms = (await sentSms(gw)).filter((m) => m.to === c.phone).pop()!;
  t.match(sms.text, '123 456,78 ₸', 'the amount, as the client\'s language (Kazakh by default) writes it');
  t.match(sms.text, 'Alseco utilities', 'the provider');
  t.match(sms.text, '*0017', 'the card\'s last 4');
  t.equal(sms.text.match(/\b\d{6}\b/g)?.length, 1, 'the code is the only 6-digit number');
  t.equal((await auditEvents(gw, 'payment.code_sent')).filter((e) => e.targets.paymentId === res.json().id).length, 1, 'SP-21: code sent audited');
});

t.test('SP-15.2: a wrong code, or another payment\'s code, does not confirm; 3 wrong codes end it', async (t) => {
  const c = await newClient(gw);
  const created = [];
  for (let i = 0; i < 6; i++) {
    const p = (await create(gw, c, paymentBody(entered(CARDS.frictionless), { amount: { value: 150_000 + i * 50_000, currency: 'KZT' } }))).json();
    created.push({ id: p.id as string, code: await lastSmsCode(gw, c.phone) });
  }
  const codes = created.map((p) => p.code);
  t.ok(freshCodes(codes), `6 payments of one client: ${new Set(codes).size} distinct codes`);
  const a = created[0]!;
  const codeA = a.code;
  // freshCodes guarantees a later code unlike A's; with none (a constant code) the last is crossed and must fail.
  const b = created.find((p) => p.code !== codeA) ?? created.at(-1)!;
  const codeB = b.code;

  const crossed = await confirm(gw, c, b.id, codeA);
  t.equal(crossed.statusCode, 400);
  t.equal(crossed.json().code, 'otp_invalid', 'payment A\'s code does not confirm payment B');
  const wrong = codeB === '111111' ? '222222' : '111111';
  t.equal((await confirm(gw, c, b.id, wrong)).json().code, 'otp_invalid');
  t.equal((await confirm(gw, c, b.id, wrong)).json().code, 'otp_attempts_exceeded', 'the third wrong code uses up the attempts');
  const late = await confirm(gw, c, b.id, codeB);
  t.equal(late.json().code, 'otp_attempts_exceeded', 'after 3 wrong codes even the right one is refused');
  t.equal(await authorizations(b.id), 0, 'nothing was authorized');

  const ok = await confirm(gw, c, a.id, codeA);
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().status, 'succeeded', 'payment A still confirms with its own code');
});

t.test('SP-15.2 / SP-9: an unconfirmed payment expires after 15 minutes', async (t) => {
  let c = await newClient(gw);
  const p = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  const code = await lastSmsCode(gw, c.phone);
  t.equal(new Date(p.expiresAt).getTime() - clock.now().getTime(), 15 * 60_000);
  clock.advance(15 * 60_000);
  c = await relogin(gw, c); // the session idled out too
  const res = await confirm(gw, c, p.id, code);
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'payment_expired');
  const read = await gw.app.inject({ method: 'GET', url: `/v1/payments/${p.id}`, headers: c.auth });
  t.equal(read.json().status, 'expired');
  t.equal(await authorizations(p.id), 0);
  t.equal((await auditEvents(gw, 'payment.expired')).filter((e) => e.targets.paymentId === p.id).length, 1);

  // The sweeper expires payments nobody reads again.
  const q = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  clock.advance(15 * 60_000);
  t.ok(await expirePayments(gw.ctx, clock.now()) >= 1);
  const row = await gw.db.selectFrom('gateway.payments').select('status').where('id', '=', q.id).executeTakeFirstOrThrow();
  t.equal(row.status, 'expired', 'swept without being read');
});

t.test('SP-9 / SP-15.2: ten concurrent wrong codes on one payment count 3 attempts, no more; then the right one is refused', async (t) => {
  const c = await newClient(gw);
  const p = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  const code = await lastSmsCode(gw, c.phone);
  const wrong = code === '111111' ? '222222' : '111111';
  // The payment's row lock and the attempt's count are one statement: racing confirms queue on the
  // lock, and each counts on the code as the one before it left it.
  const answers = await Promise.all(Array.from({ length: 10 }, () => confirm(gw, c, p.id, wrong)));
  t.same(answers.map((a) => a.statusCode), Array(10).fill(400));
  const codes = answers.map((a) => a.json().code as string);
  t.equal(codes.filter((x) => x === 'otp_invalid').length, 2, 'two wrong codes leave attempts');
  t.equal(codes.filter((x) => x === 'otp_attempts_exceeded').length, 8, 'the third uses them up; the rest find none');
  const otp = await gw.db.selectFrom('gateway.otps').select('attempts').where('purpose', '=', 'payment').where('subject_id', '=', p.id).executeTakeFirstOrThrow();
  t.equal(otp.attempts, 3, 'exactly 3 attempts were counted');
  t.equal((await confirm(gw, c, p.id, code)).json().code, 'otp_attempts_exceeded', 'the right code comes too late');
  t.equal(await authorizations(p.id), 0, 'nothing was authorized');
});

t.test('SP-15.2: a double confirm (sequential or concurrent) authorizes once', async (t) => {
  const c = await newClient(gw);
  const p = (await create(gw, c, paymentBody(entered(CARDS.mastercard)))).json();
  const code = await lastSmsCode(gw, c.phone);
  const [one, two] = await Promise.all([confirm(gw, c, p.id, code), confirm(gw, c, p.id, code)]);
  t.same([one.statusCode, two.statusCode], [200, 200], 'both clicks get the payment');
  t.same([one.json().status, two.json().status], ['succeeded', 'succeeded']);
  const again = await confirm(gw, c, p.id, code);
  t.equal(again.json().status, 'succeeded', 'a retried confirm replays the result');
  t.equal(await authorizations(p.id), 1, 'the vault authorized exactly once');
  t.equal((await auditEvents(gw, 'payment.authorized')).filter((e) => e.targets.paymentId === p.id).length, 1);
});

t.test('SP-15.2: when the vault is down the confirmed payment waits in processing, its code spent, for the vault to be asked again', async (t) => {
  const c = await newClient(gw);
  const p = (await create(gw, c, paymentBody(entered(CARDS.frictionless)))).json();
  const code = await lastSmsCode(gw, c.phone);
  await vault.stop(); // last test of the file: the vault stays down
  const down = await confirm(gw, c, p.id, code);
  t.equal(down.statusCode, 503);
  t.equal(down.json().code, 'vault_unavailable');
  t.equal(down.headers['retry-after'], '5');
  const row = await gw.db.selectFrom('gateway.payments').select('status').where('id', '=', p.id).executeTakeFirstOrThrow();
  t.equal(row.status, 'processing', 'confirmed: a repeated confirm or the sweep asks the vault again (payment-retry.test.ts)');
  const otp = await gw.db.selectFrom('gateway.otps').select(['used_at', 'attempts']).where('subject_id', '=', p.id).executeTakeFirstOrThrow();
  t.not(otp.used_at, null, 'the code was spent by the confirm');
  const again = await confirm(gw, c, p.id, code);
  t.equal(again.statusCode, 503, 'asked again while the vault is still down');
});
