import t from 'tap';
import { passwordProblems } from '../../src/identity/passwords.policy.js';
import { createPasswordHasher } from '../../src/identity/passwords.hasher.js';
import { DomainError } from '../../src/errors.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { randomKzPhone, verifyPhone } from '../../../test/support/clients.js';

t.test('SP-7: each failed criterion has its own code', async (t) => {
  t.same(passwordProblems('abc-de'), ['password_too_short'], '6 characters');
  t.same(passwordProblems('abc-def'), [], '7 characters with a letter: enough');
  t.same(passwordProblems('8402957713'), ['password_digits_only'], 'digits only');
  t.same(passwordProblems('83920'), ['password_too_short', 'password_digits_only'], 'both named');
  t.same(passwordProblems('1234567!'), [], 'a special character is enough');
  t.same(passwordProblems('١٢٣٤٥٦٧٨'), ['password_digits_only'], 'digits of any script are digits');
  t.same(passwordProblems('Password1'), ['password_too_common'], 'common list, any case');
  t.same(passwordProblems('qwerty123'), ['password_too_common']);
  t.same(passwordProblems('kazakhstan2024'), ['password_too_common']);
  t.same(passwordProblems('x'.repeat(129)), ['password_too_long']);
  t.same(passwordProblems('my7011234567pass', '+77011234567'), ['password_contains_phone']);
  t.same(passwordProblems('ab-1234567', '+77011234567'), ['password_contains_phone'], 'the 7-digit subscriber number');
  t.same(passwordProblems('ｐａｓｓｗｏｒｄ１'), ['password_too_common'], 'NFKC: full-width forms are the same password');
});

t.test('SP-7: the registration API refuses weak passwords with their code and spends nothing', async (t) => {
  const gw = await buildTestGateway(t);
  const phone = randomKzPhone();
  const { verificationToken } = await verifyPhone(gw, phone);
  const cases: Array<[string, string]> = [
    ['123456789', 'password_digits_only'],
    ['abc-de', 'password_too_short'],
    ['password123', 'password_too_common'],
    ['iloveyou1', 'password_too_common'],
    [`x${phone.slice(2)}`, 'password_contains_phone'],
    ['y'.repeat(200), 'password_too_long'],
  ];
  for (const [password, code] of cases) {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/registrations', payload: { verificationToken, name: 'Test', birthDate: '1990-01-01', password } });
    t.equal(res.statusCode, 400, password);
    t.equal(res.json().code, code, password);
    t.notOk(res.body.includes(password), 'the password is not echoed');
  }
  t.equal((await gw.db.selectFrom('gateway.clients').select('id').execute()).length, 0);
  const ok = await gw.app.inject({ method: 'POST', url: '/v1/registrations', payload: { verificationToken, name: 'Test', birthDate: '1990-01-01', password: 'Silk-Road-1999' } });
  t.equal(ok.statusCode, 201, 'the same token still works');
});

t.test('passwords: argon2id, parameters in each hash, re-hash when they rise', async (t) => {
  const weak = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1, concurrency: 2, queue: 10, nice: 0 });
  const strong = createPasswordHasher({ memoryKib: 2048, timeCost: 2, parallelism: 1, concurrency: 2, queue: 10, nice: 0 });
  const h = await weak.hash('Steppe-Wind-42');
  t.match(h, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  t.ok(await strong.verify(h, 'Steppe-Wind-42'), 'old parameters still verify');
  t.notOk(await strong.verify(h, 'Steppe-Wind-43'));
  t.ok(strong.needsRehash(h), 'raised parameters ask for a re-hash');
  t.notOk(weak.needsRehash(h));
  t.equal(await weak.verifyDummy('anything'), false);
});

t.test('passwords: a full hash queue answers 503 service_unavailable instead of starving the server', async (t) => {
  const hasher = createPasswordHasher({ memoryKib: 8192, timeCost: 3, parallelism: 1, concurrency: 1, queue: 1, nice: 0 });
  const results = await Promise.allSettled([hasher.hash('a-password-1'), hasher.hash('a-password-2'), hasher.hash('a-password-3')]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 2, 'one running, one queued');
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.ok(refused.reason instanceof DomainError);
  t.equal(refused.reason.code, 'service_unavailable');
  t.equal(refused.reason.status, 503);
  t.match(await hasher.hash('a-password-4'), /^\$argon2id/, 'slots are released afterwards');
});
