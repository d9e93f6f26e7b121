// SP-21 with SP-16 / PCI DSS 3.3, 10.2: an audit event is a closed schema; a field that could
// carry a PAN, CVV, code, password or token is refused before anything is written, and a row
// that slipped into an outbox by hand is never stored.
import t from 'tap';
import { sql } from 'kysely';
import { ManualClock } from '../../lib/clock.js';
import { InvalidAuditEvent, makeAuditEvent, type NewAuditEvent } from '../../lib/audit/event.js';
import { appendAuditEvent } from '../../lib/audit/outbox.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { migratedDatabase } from '../../test/support/database.js';
import { EventStore } from '../src/store.js';
import { dbAs } from './support.js';

const base: NewAuditEvent = {
  component: 'gateway', actor: { type: 'client', id: 'c-1' }, action: 'payment.create', outcome: 'success', targets: { clientId: 'c-1' },
};
const at = new Date('2026-11-24T10:00:00Z');

t.test('SP-21 SP-16 events carrying pan, cvv, password or code are refused', async (t) => {
  t.ok(makeAuditEvent(base, at), 'a clean event is accepted');
  const forbidden: Array<[string, unknown]> = [
    ['pan at the top level', { ...base, pan: '4400430000000007' }],
    ['cvv at the top level', { ...base, cvv: '123' }],
    ['password at the top level', { ...base, password: 'secret1!' }],
    ['code at the top level', { ...base, code: '123456' }],
    ['pan in details', { ...base, details: { pan: '4400430000000007' } }],
    ['cvv in details', { ...base, details: { CVV: '123' } }],
    ['password in details', { ...base, details: { newPassword: 'x' } }],
    ['code in details', { ...base, details: { code: '123456' } }],
    ['token in details', { ...base, details: { token: 'abc' } }],
    ['pan in targets', { ...base, targets: { pan: '4400430000000007' } }],
    ['password in actor', { ...base, actor: { type: 'client', password: 'x' } }],
    ['a nested object in details', { ...base, details: { card: { number: '4400430000000007' } } }],
  ];
  for (const [name, input] of forbidden) {
    t.throws(() => makeAuditEvent(input as NewAuditEvent, at), InvalidAuditEvent, name);
  }
});

t.test('SP-21 the outbox refuses a forbidden field, and the store never takes a hand-written poison row', async (t) => {
  const { url, db } = await migratedDatabase(t, ['gateway', 'vault', 'audit']);
  const event = { ...makeAuditEvent(base, at), pan: '4400430000000007' };
  await t.rejects(appendAuditEvent(db, 'gateway', event as never), InvalidAuditEvent);
  const id = uuidv7(at);
  await sql`insert into gateway.audit_outbox (event_id, payload, created_at)
            values (${id}, ${JSON.stringify({ ...makeAuditEvent(base, at), id, cvv: '123' })}::jsonb, now())`.execute(db);
  const store = new EventStore(dbAs(t, url, 'audit_writer'), new ManualClock(at));
  const [outcome] = await store.store([{ source: 'gateway', eventId: id }]);
  t.match(outcome, { poison: /cvv|additional/i }, 'reported as poison');
  const counts = await sql<{ stored: number; waiting: number }>`select (select count(*)::int from audit.events) as stored,
    (select count(*)::int from gateway.audit_outbox) as waiting`.execute(db);
  t.same(counts.rows[0], { stored: 0, waiting: 1 }, 'not stored, kept in the outbox for an operator');
});
