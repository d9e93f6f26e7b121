// The sandbox code endpoint the load generators use (loadtest/README.md): staff listener only,
// audited with the phone as target (SP-21), and absent in production or with a real SMS provider.
import t from 'tap';
import { buildTestGateway } from '../../test/support/gateway.js';
import { listenAdmin } from '../../test/support/admin.js';
import { auditEvents, lastSmsCode, randomKzPhone } from '../../test/support/clients.js';
import type { GatewayContext } from '../src/context.js';

const path = (phone: string) => `/v1/sandbox/sms-codes/latest?phone=${encodeURIComponent(phone)}`;

t.test('SP-21: the newest code for a phone, read by staff over mutual TLS and audited with the phone', async (t) => {
  const gw = await buildTestGateway(t);
  const admin = await listenAdmin(t, gw.ctx);
  const phone = randomKzPhone();
  t.equal((await admin.call('GET', path(phone))).status, 404, 'nothing sent yet');
  for (let i = 0; i < 2; i++) {
    gw.clock.advance(61_000);
    const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } });
    t.equal(res.statusCode, 202, 'a code is sent');
    const got = await admin.call('GET', path(phone));
    t.equal(got.status, 200);
    t.equal(got.json().code, await lastSmsCode(gw, phone), 'the newest code, as the phone shows it');
  }
  const reads = await auditEvents(gw, 'sandbox.sms_code_read');
  t.same(reads.map((e) => [e.outcome, e.actor.id, e.targets.phone]), [['refused', 'admin', phone], ['success', 'admin', phone], ['success', 'admin', phone]], 'every read is on record');
  t.equal((await admin.call('GET', path(phone), undefined, 'gateway')).status, 403, 'a service certificate is not staff');
});

t.test('refused where codes are real: production, or an SMS provider that is not the outbox', async (t) => {
  const gw = await buildTestGateway(t);
  const phone = randomKzPhone();
  t.equal((await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } })).statusCode, 202);
  const variants: Array<[string, GatewayContext['config']]> = [
    ['production', { ...gw.ctx.config, env: 'production' }],
    ['http SMS provider', { ...gw.ctx.config, identity: { ...gw.ctx.config.identity, sms: { ...gw.ctx.config.identity.sms, provider: 'http' } } }],
  ];
  for (const [name, config] of variants) {
    const admin = await listenAdmin(t, { ...gw.ctx, config });
    const res = await admin.call('GET', path(phone));
    t.equal(res.status, 404, `${name}: the route does not exist`);
    t.notMatch(res.text, /\d{6}/, `${name}: no code in the answer`);
  }
  t.equal((await auditEvents(gw, 'sandbox.sms_code_read')).length, 0, 'no read happened');
});
