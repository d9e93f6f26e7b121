import t from 'tap';
import { normalisePhone } from '../../src/identity/phone.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { sentSms } from '../../../test/support/clients.js';

t.test('SP-6: the written forms of a KZ mobile number normalise to one E.164 login', async (t) => {
  for (const form of ['+7 701 123 45 67', '87011234567', '8 (701) 123-45-67', '+77011234567', '77011234567', '+7-701-123-45-67', ' +7 (701) 1234567 ']) {
    t.equal(normalisePhone(form), '+77011234567', form);
  }
  t.equal(normalisePhone('+7 747 000 00 01'), '+77470000001', 'Tele2 range');
  t.equal(normalisePhone('8 778 555 12 12'), '+77785551212', 'activ range');
});

t.test('SP-6: anything that is not a KZ mobile number is phone_invalid', async (t) => {
  const refused = [
    '+7 912 345 67 89', // Russian mobile (+7 9xx)
    '+7 727 250 00 00', // Almaty landline
    '8 809 123 45 67', // premium rate
    '+7 701 123 45 6', // too short
    '+7 701 123 45 678', // too long
    '+8 701 123 45 67',
    '7011234567', // no country or trunk prefix
    '+7 7O1 123 45 67', // letter O
    '+1 415 555 0100',
    '',
    '+7 701 123 45 67; DROP TABLE',
    '٨٧٠١١٢٣٤٥٦٧', // non-ASCII digits
    '+'.padEnd(40, '7'),
  ];
  for (const input of refused) t.equal(normalisePhone(input), null, JSON.stringify(input));
});

t.test('SP-6: the API refuses an invalid phone with phone_invalid and changes nothing', async (t) => {
  const gw = await buildTestGateway(t);
  for (const phone of ['+7 912 345 67 89', '12345', 'not a phone']) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } });
    t.equal(res.statusCode, 400);
    t.equal(res.json().code, 'phone_invalid');
    t.match(res.headers['content-type'], /application\/problem\+json/);
  }
  const login = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone: '+7 912 345 67 89', password: 'whatever-1' } });
  t.equal(login.json().code, 'phone_invalid');
  t.same(await sentSms(gw), [], 'no SMS sent');
  t.equal((await gw.db.selectFrom('gateway.verifications').select('id').execute()).length, 0);
  t.equal((await gw.db.selectFrom('gateway.login_attempts').select('phone').execute()).length, 0, 'no lockout row for garbage');
});

t.test('SP-6: the login is the normalised phone, whichever form the client types', async (t) => {
  const gw = await buildTestGateway(t);
  const started = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone: '8 (701) 765-43-21' } });
  t.equal(started.statusCode, 202);
  const [sms] = await sentSms(gw);
  t.equal(sms?.to, '+77017654321');
});
