import t from 'tap';
import { sql } from 'kysely';
import { migratedDatabase } from '../../../test/support/database.js';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayDatabase } from '../../src/database.js';
import { saveEnteredCard } from '../../src/payments/cards.repository.js';
import { claimCardForMonth } from '../../src/payments/card-limit.js';
import { insertPayment, moveStatus } from '../../src/payments/payments.repository.js';
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
  const card = await saveEnteredCard(db, clientId, {
    token: `tok_${uuidv7()}`, fingerprint: uuidv7(), brand: 'visa', bin6: '440043', last4: '0007', issuerCountry: 'KZ', expMonth: 12, expYear: 2030,
  }, now);
  const id = uuidv7();
  await insertPayment(db, {
    id, clientId, providerId: 'kcell', cardId: card.id, cardSource: 'entered', amount: 1000, currency: 'KZT', params: { phone: '+77011234567' }, now, expiresAt: now,
  });
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

const ILLEGAL = /illegal payment status transition|is final|starts as requires_confirmation|immutable|never deleted|never shrinks|check constraint/;

t.test('legal moves pass; illegal ones are refused by the database', async (t) => {
  const set = (id: string, fields: string) => sql`update gateway.payments set ${sql.raw(fields)} where id = ${id}`.execute(db);
  await t.rejects(set(await payment(), "status = 'succeeded', authorization_id = 'a'"), ILLEGAL, 'requires_confirmation → succeeded skips the code');
  await t.rejects(set(await payment('expired'), "status = 'processing'"), ILLEGAL, 'expired is final');
  await t.rejects(set(await payment('declined'), "status = 'succeeded'"), ILLEGAL, 'declined is final');
  await t.rejects(set(await payment('succeeded'), "status = 'processing'"), ILLEGAL, 'no way back from succeeded');
  await t.rejects(set(await payment('requires_action'), "status = 'declined'"), ILLEGAL, 'a challenge ends succeeded, failed or expired');
  await t.rejects(set(await payment('succeeded'), 'amount = 1'), ILLEGAL, 'the amount never changes');
  await t.rejects(set(await payment('succeeded'), "status = 'refunded'"), ILLEGAL, 'refunded needs the whole amount refunded');
  await t.rejects(set(await payment('succeeded'), "status = 'partially_refunded', refunded_amount = 2000"), ILLEGAL, 'never more than was paid');
  const refunded = await payment('succeeded');
  await set(refunded, "status = 'partially_refunded', refunded_amount = 400");
  await t.rejects(set(refunded, 'refunded_amount = 300'), ILLEGAL, 'refunds only grow');
  await set(refunded, "status = 'refunded', refunded_amount = 1000");
  await t.rejects(set(refunded, "status = 'partially_refunded', refunded_amount = 1000"), ILLEGAL, 'refunded is final');
  await t.rejects(sql`delete from gateway.payments where id = ${refunded}`.execute(db), ILLEGAL, 'payments are never deleted');
  await t.rejects(sql`insert into gateway.payments select (p).* from (select row(x.*)::gateway.payments as p from gateway.payments x where id = ${refunded}) s`.execute(db),
    /duplicate key|starts as requires_confirmation/, 'no payment is born in another status');
  await t.rejects(sql`update gateway.payments set amount = 0 where id = ${await payment()}`.execute(db), ILLEGAL);
});

t.test('SP-15.3 at repository level: 10 concurrent claims of new fingerprints admit exactly 3', async (t) => {
  const clientId = await client();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => db.transaction().execute((trx) => claimCardForMonth(trx, clientId, `fp-${i}`, now))));
  t.equal(results.filter(Boolean).length, 3);
  t.ok(await claimCardForMonth(db, clientId, `fp-${results.indexOf(true)}`, now), 'a fingerprint already counted is still fine');
  t.notOk(await claimCardForMonth(db, clientId, 'fp-new', now));
  t.ok(await claimCardForMonth(db, clientId, 'fp-new', new Date('2026-11-30T19:30:00Z')), '19:30Z on 30 November is December in Almaty');
});
