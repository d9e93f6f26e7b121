// SP-11 / no user enumeration: unknown phones are checked against a dummy hash so they answer like
// known ones. Its computation can fail (the hashing queue is full: 503); such a failure must never
// be kept, or every unknown phone answers 503 from then on while known phones answer 401.
import t from 'tap';
import { DomainError } from '../../src/errors.js';
import { createPasswordHasher } from '../../src/identity/passwords.hasher.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { randomKzPhone, registerClient } from '../../../test/support/clients.js';

// One hashing thread and one waiting place: two hashes started in one tick leave the queue full,
// so a dummy computation started in that same tick is refused, deterministically.
const tiny = { memoryKib: 1024, timeCost: 1, parallelism: 1, concurrency: 1, queue: 1, nice: 0 };

t.test('SP-11: after the dummy hash\'s first computation failed, an unknown phone answers 401 exactly like a known one', async (t) => {
  const gw = await buildTestGateway(t, { env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1', LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } });
  const known = await registerClient(gw);

  const busy = [gw.ctx.passwords.hash('filler-one'), gw.ctx.passwords.hash('filler-two')];
  const first = gw.ctx.passwords.verifyDummy('anything');
  await t.rejects(first, { code: 'service_unavailable' }, 'the first dummy computation found the queue full');
  await Promise.all(busy);

  const login = (phone: string) => gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password: 'Wrong-Pass-1' } });
  const shape = (res: Awaited<ReturnType<typeof login>>) => {
    const { status, code, title, detail } = res.json();
    return { statusCode: res.statusCode, status, code, title, detail };
  };
  const unknown = [];
  for (let i = 0; i < 3; i++) unknown.push(shape(await login(randomKzPhone())));
  const knownWrong = shape(await login(known.phone));
  t.same(knownWrong, { statusCode: 401, status: 401, code: 'invalid_credentials', title: 'Phone or password is wrong', detail: 'the phone number or password is wrong' });
  t.equal(unknown.length, 3);
  for (const u of unknown) t.same(u, knownWrong, 'an unknown phone answers like a known one with a wrong password');
});

t.test('SP-11: prepare() computes the dummy hash; a failed computation is retried, never kept', async (t) => {
  const hasher = createPasswordHasher(tiny);
  const busy = [hasher.hash('filler-one'), hasher.hash('filler-two')];
  const failed = hasher.prepare();
  await t.rejects(failed, DomainError);
  await t.rejects(failed, { code: 'service_unavailable' });
  await Promise.all(busy);
  await hasher.prepare();
  t.equal(await hasher.verifyDummy('anything'), false);

  // Once prepared, a full queue affects unknown phones exactly as known ones: one verify, no second hash.
  const known = await hasher.hash('Known-Pass-1');
  const fill = [hasher.hash('filler-one'), hasher.hash('filler-two')];
  await t.rejects(hasher.verifyDummy('x'), { code: 'service_unavailable' });
  await t.rejects(hasher.verify(known, 'x'), { code: 'service_unavailable' });
  await Promise.all(fill);
  t.equal(await hasher.verifyDummy('x'), false, 'and recovers at once');
  t.equal(await hasher.verify(known, 'Known-Pass-1'), true);
});
