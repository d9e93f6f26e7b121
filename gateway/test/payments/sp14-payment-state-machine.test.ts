import t from 'tap';
import { sql, type Kysely } from 'kysely';
import { migratedDatabase } from '../../../test/support/database.js';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayDatabase } from '../../src/database.js';
import { saveEnteredCard } from '../../src/payments/cards.repository.js';
import { cardMonthClaim } from '../../src/payments/card-limit.js';
import { insertClaimedPayment, moveStatus } from '../../src/payments/payments.repository.js';
import type { PaymentStatus } from '../../src/payments/payments.table.js';

// The payment state machine is enforced by PostgreSQL itself (migration 2026112422), so no code
// path and no hand-written UPDATE can make an illegal move. Repository level, real database.
const { db } = await migratedDatabase<GatewayDatabase>(t, ['gateway']);
const now = new Date('2026-11-24T10:00:00Z');

async function client(): Promise<string> {
  const id = uuidv7();
  await sql`insert into gateway.clients (id, phone, name, birth_date, password_hash, created_at, password_changed_at)
            values (${id}, ${`+770${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`}, 'T', '1990-01-01', 'x', ${now}, ${now})`.execute(db);
  return id;
}

async function payment(status: PaymentStatus = 'requires_confirmation') {
  const clientId = await client();
  const fingerprint = uuidv7();
  const card = await saveEnteredCard(db, clientId, {
    token: `tok_${uuidv7()}`, fingerprint, fingerprintVersion: 1, otherFingerprints: [], brand: 'visa', bin6: '440043', last4: '0007',
    issuerCountry: 'KZ', expMonth: 12, expYear: 2030,
  }, now);
  const id = uuidv7();
  // The start's own statement, without a code or audit events: this file is about the status moves.
  const inserted = await insertClaimedPayment(db, {
    id, clientId, providerId: 'kcell', cardId: card.id, cardSource: 'entered', amount: 1000, currency: 'KZT', params: { phone: '+77011234567' }, now, expiresAt: now,
  }, cardMonthClaim(clientId, fingerprint, now), (guard) => sql`select ${guard}`, []);
  t.ok(inserted, 'the payment was inserted');
  const path: Record<string, PaymentStatus[]> = {
    requires_confirmation: [], processing: ['processing'], succeeded: ['processing', 'succeeded'], declined: ['processing', 'declined'],
    expired: ['expired'], requires_action: ['processing', 'requires_action'],
  };
  let from: PaymentStatus = 'requires_confirmation';
  for (const to of path[status]!) {
    t.ok(await moveStatus(db, id, from, to, now, to === 'succeeded' ? { authorizationId: 'auth-1' } : {}), `${from} → ${to}`);
    from = to;
  }
  return id;
}

// Every refusal is check_violation (23514), from the trigger or a check constraint; the message says which rule.
const refused = (message: RegExp) => ({ code: '23514', message });
const illegal = (from: PaymentStatus, to: PaymentStatus) => refused(new RegExp(`^illegal payment status transition ${from} -> ${to}$`));
const CHECK = refused(/violates check constraint/);

t.test('legal moves pass; illegal ones are refused by the database', async (t) => {
  const set = (id: string, fields: string) => sql`update gateway.payments set ${sql.raw(fields)} where id = ${id}`.execute(db);
  await t.rejects(set(await payment(), "status = 'succeeded', authorization_id = 'a'"), illegal('requires_confirmation', 'succeeded'), 'requires_confirmation → succeeded skips the code');
  await t.rejects(set(await payment('expired'), "status = 'processing'"), illegal('expired', 'processing'), 'expired is final');
  await t.rejects(set(await payment('declined'), "status = 'succeeded'"), illegal('declined', 'succeeded'), 'declined is final');
  await t.rejects(set(await payment('declined'), "decline_reason = 'late'"), refused(/^payment \S+ is final \(declined\)$/), 'a final payment does not change at all');
  await t.rejects(set(await payment('succeeded'), "status = 'processing'"), illegal('succeeded', 'processing'), 'no way back from succeeded');
  await t.rejects(set(await payment('requires_action'), "status = 'declined'"), illegal('requires_action', 'declined'), 'a challenge ends succeeded, failed or expired');
  await t.rejects(set(await payment('succeeded'), 'amount = 1'), refused(/parties and amount are immutable/), 'the amount never changes');
  await t.rejects(set(await payment('succeeded'), "status = 'refunded'"), CHECK, 'refunded needs the whole amount refunded');
  await t.rejects(set(await payment('succeeded'), "status = 'partially_refunded', refunded_amount = 2000"), CHECK, 'never more than was paid');
  const refunded = await payment('succeeded');
  await set(refunded, "status = 'partially_refunded', refunded_amount = 400");
  await t.rejects(set(refunded, 'refunded_amount = 300'), refused(/refunded amount never shrinks/), 'refunds only grow');
  await set(refunded, "status = 'refunded', refunded_amount = 1000");
  await t.rejects(set(refunded, "status = 'partially_refunded', refunded_amount = 1000"), illegal('refunded', 'partially_refunded'), 'refunded is final');
  await t.rejects(sql`delete from gateway.payments where id = ${refunded}`.execute(db), refused(/payments are never deleted/), 'payments are never deleted');
  await t.rejects(set(await payment(), 'amount = 0'), refused(/parties and amount are immutable/));
});

t.test('SP-14: a payment is born requires_confirmation, whatever an INSERT says', async (t) => {
  const paid = await payment('succeeded');
  // A copy of a paid payment under a NEW id: every constraint but the trigger accepts it.
  const copy = (fields: Record<string, unknown>) => sql`insert into gateway.payments
    select * from jsonb_populate_record(null::gateway.payments,
      (select to_jsonb(x) || ${JSON.stringify(fields)}::jsonb from gateway.payments x where id = ${paid}))`.execute(db);
  await copy({ id: uuidv7(), status: 'requires_confirmation', authorization_id: null });
  t.pass('the same INSERT of a payment waiting for its code is accepted');
  const born = uuidv7();
  await t.rejects(copy({ id: born }), refused(/^a payment starts as requires_confirmation, not succeeded$/), 'no payment is born succeeded');
  await t.rejects(copy({ id: uuidv7(), status: 'refunded', refunded_amount: 1000 }), refused(/starts as requires_confirmation, not refunded/));
  const rows = await db.selectFrom('gateway.payments').select('id').where('id', '=', born).execute();
  t.same(rows, [], 'nothing was inserted');
});

const claimCardForMonth = async (db: Kysely<GatewayDatabase>, clientId: string, fingerprint: string, at: Date) =>
  (await cardMonthClaim(clientId, fingerprint, at).execute(db)).rows.length === 1;

t.test('SP-15.3 at repository level: 10 concurrent claims of new fingerprints admit exactly 3', async (t) => {
  const clientId = await client();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => db.transaction().execute((trx) => claimCardForMonth(trx, clientId, `fp-${i}`, now))));
  t.equal(results.filter(Boolean).length, 3);
  t.ok(await claimCardForMonth(db, clientId, `fp-${results.indexOf(true)}`, now), 'a fingerprint already counted is still fine');
  t.notOk(await claimCardForMonth(db, clientId, 'fp-new', now));
  t.ok(await claimCardForMonth(db, clientId, 'fp-new', new Date('2026-11-30T19:30:00Z')), '19:30Z on 30 November is December in Almaty');
});
