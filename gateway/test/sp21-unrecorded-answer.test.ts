// SP-21: a request whose audit record cannot be written is answered 500 problem+json, never served
// unrecorded and never with the database driver's message (found by chaos/faults.test.ts: with
// PostgreSQL down, the failure inside the error answer fell through to Fastify's default handler,
// which printed "connect ECONNREFUSED 127.0.0.1:…").
import t from 'tap';
import { sql } from 'kysely';
import { buildTestGateway } from '../../test/support/gateway.js';
import { registerClient } from '../../test/support/clients.js';

t.test('SP-21: the outbox refuses the record: a read and a refusal are both answered 500 internal_error, nothing leaked', async (t) => {
  const gw = await buildTestGateway(t);
  const c = await registerClient(gw);
  await sql`alter table gateway.audit_outbox add constraint unwritable check (false) not valid`.execute(gw.superuserDb);
  const answers = [
    await gw.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.token}` } }),
    await gw.app.inject({ method: 'GET', url: '/v1/me' }),
    await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: 42 } }),
  ];
  for (const res of answers) {
    t.equal(res.statusCode, 500);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.same(Object.keys(res.json()).sort(), ['code', 'detail', 'status', 'title', 'type']);
    t.equal(res.json().code, 'internal_error');
    t.notMatch(res.body, /unwritable|constraint|check|audit_outbox|violat/i, 'no database text');
    t.ok(res.headers['strict-transport-security'] ?? res.headers['x-content-type-options'], 'security headers kept');
  }
  t.notOk(answers[0]!.body.includes(c.phone), 'the profile was not served unrecorded');
});
