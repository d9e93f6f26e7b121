// SP-5 / SP-10: a forgotten password is reset with the SMS code (the verification token) AND the
// birth date given at registration. A wrong birth date changes nothing, is audited, and counts:
// the third wrong one ends the token, even when the guesses race.
import t from 'tap';
import { MINUTE } from '../../../lib/clock.js';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { auditEvents, randomKzPhone, registerClient, verifyPhone } from '../../../test/support/clients.js';

const BIRTH_DATE = '1990-05-17'; // registerClient's
const NEW_PASSWORD = 'Fresh-Snow-2026';

function reset(gw: TestGateway, body: Record<string, unknown>) {
  return gw.app.inject({ method: 'POST', url: '/v1/password-resets', payload: body });
}

async function canLogin(gw: TestGateway, phone: string, password: string): Promise<boolean> {
  return (await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password } })).statusCode === 201;
}

t.test('SP-5: a reset needs the birth date given at registration; a wrong one changes nothing and is audited', async (t) => {
  const gw = await buildTestGateway(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const c = await registerClient(gw);
  gw.clock.advance(2 * MINUTE);
  const { verificationToken } = await verifyPhone(gw, c.phone, 'password_reset');

  const missing = await reset(gw, { verificationToken, newPassword: NEW_PASSWORD });
  t.equal(missing.statusCode, 400);
  t.equal(missing.json().code, 'validation_failed', 'the birth date is required');

  const wrong = await reset(gw, { verificationToken, birthDate: '1990-05-18', newPassword: NEW_PASSWORD });
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.json().code, 'invalid_credentials');
  t.ok(await canLogin(gw, c.phone, c.password), 'the old password still works');
  t.notOk(await canLogin(gw, c.phone, NEW_PASSWORD));
  const failures = (await auditEvents(gw, 'password.reset')).filter((e) => e.outcome === 'failure');
  t.equal(failures.length, 1, 'the wrong birth date is audited');
  t.match(failures[0], { actor: { type: 'visitor' }, targets: { clientId: c.clientId }, details: { reason: 'birth_date_mismatch' } });
  t.notMatch(JSON.stringify(failures), /1990-05-18/, 'the guess itself is not recorded');

  const ok = await reset(gw, { verificationToken, birthDate: BIRTH_DATE, newPassword: NEW_PASSWORD });
  t.equal(ok.statusCode, 204, 'the right birth date with the same token still resets');
  t.ok(await canLogin(gw, c.phone, NEW_PASSWORD));
});

t.test('SP-10: the third wrong birth date ends the verification token', async (t) => {
  const gw = await buildTestGateway(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const c = await registerClient(gw);
  gw.clock.advance(2 * MINUTE);
  const { verificationToken } = await verifyPhone(gw, c.phone, 'password_reset');
  for (const birthDate of ['1990-05-18', '1991-05-17', '1990-06-17']) {
    t.equal((await reset(gw, { verificationToken, birthDate, newPassword: NEW_PASSWORD })).json().code, 'invalid_credentials', birthDate);
  }
  const late = await reset(gw, { verificationToken, birthDate: BIRTH_DATE, newPassword: NEW_PASSWORD });
  t.equal(late.statusCode, 400);
  t.equal(late.json().code, 'verification_invalid', 'the right birth date comes too late');
  t.ok(await canLogin(gw, c.phone, c.password), 'nothing changed');

  gw.clock.advance(2 * MINUTE);
  const again = await verifyPhone(gw, c.phone, 'password_reset');
  t.equal((await reset(gw, { verificationToken: again.verificationToken, birthDate: BIRTH_DATE, newPassword: NEW_PASSWORD })).statusCode, 204, 'a new verification starts over');
});

t.test('SP-10: racing wrong birth dates get 3 comparisons in all', async (t) => {
  const gw = await buildTestGateway(t, { env: { VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' } });
  const c = await registerClient(gw);
  gw.clock.advance(2 * MINUTE);
  const { verificationToken } = await verifyPhone(gw, c.phone, 'password_reset');
  const guesses = Array.from({ length: 12 }, (_, i) => `19${60 + i}-01-01`);
  const answers = await Promise.all(guesses.map((birthDate) => reset(gw, { verificationToken, birthDate, newPassword: NEW_PASSWORD })));
  const codes = answers.map((a) => a.json().code as string);
  t.equal(codes.filter((x) => x === 'invalid_credentials').length, 3, 'three compared');
  t.equal(codes.filter((x) => x === 'verification_invalid').length, 9, 'the rest refused');
  const failures = (await auditEvents(gw, 'password.reset')).filter((e) => e.outcome === 'failure');
  t.equal(failures.length, 3);
  t.equal((await reset(gw, { verificationToken, birthDate: BIRTH_DATE, newPassword: NEW_PASSWORD })).json().code, 'verification_invalid', 'the token is dead');
  t.ok(await canLogin(gw, c.phone, c.password));
  const stranger = await verifyPhone(gw, randomKzPhone(), 'password_reset');
  t.equal((await reset(gw, { verificationToken: stranger.verificationToken, birthDate: BIRTH_DATE, newPassword: NEW_PASSWORD })).statusCode, 404, 'an unregistered phone still has nothing to reset');
});
