// SP-16: a CVV given at tokenize lives in vault memory only, serves one authorization, and is gone
// after it, after 15 minutes, or when the vault restarts — then the client must type it again,
// unless an approved first payment lets the card be charged on file without one (SP-14.2).
import t from 'tap';
import { ManualClock, MINUTE } from '../../lib/clock.js';
import { startTestVault } from '../../test/support/vault.js';

const clock = new ManualClock();
const vault = await startTestVault(t, { clock });
let n = 0;
const tokenize = async (cvv?: string) => (await vault.client.call<any>('POST', '/v1/tokens', {
  pan: '4400430000000007', expMonth: 12, expYear: 2030, clientRef: 'client-1', ...(cvv ? { cvv } : {}),
})).body.token as string;
const authorize = (v: typeof vault, token: string, cvv?: string) => v.client.call<any>('POST', '/v1/authorizations', {
  token, clientRef: 'client-1', amount: { value: 500, currency: 'KZT' }, merchant: 'm', paymentRef: `p-${++n}`, ...(cvv ? { cvv } : {}),
});
const authorizations = async (token: string) =>
  (await vault.db.selectFrom('vault.authorizations').select('id').where('token', '=', token).execute()).length;

t.test('SP-16: the held CVV serves one authorization and is wiped after it', async (t) => {
  const token = await tokenize('123');
  const processor = vault.ctx.processor;
  const handed: Array<Buffer | undefined> = [];
  vault.ctx.processor = { ...processor, authorize: async (request) => { handed.push(request.cvv); return processor.authorize(request); } };
  t.teardown(() => { vault.ctx.processor = processor; });
  t.equal((await authorize(vault, token)).body.outcome, 'approved');
  // SP-14.2: the next one is charged on file, so the processor is handed no CVV at all.
  t.equal((await authorize(vault, token)).body.outcome, 'approved');
  t.equal(handed.length, 2);
  t.ok(handed[0] instanceof Buffer, 'the first authorization had the held CVV');
  t.equal(handed[1], undefined, 'the second had none: it was used once');
  t.equal((await authorize(vault, token, '123')).body.outcome, 'approved', 'a CVV typed again is accepted');
});

t.test('SP-16: a declined or challenged authorization also wipes the CVV', async (t) => {
  for (const pan of ['4400430000000031', '4400430000000015']) {
    const token = (await vault.client.call<any>('POST', '/v1/tokens', { pan, expMonth: 12, expYear: 2030, clientRef: 'client-1', cvv: '123' })).body.token;
    const first = await authorize(vault, token);
    t.match(first.body.outcome, /declined|challenge_required/);
    t.equal((await authorize(vault, token)).body.code, 'cvv_required', pan);
  }
});

t.test('SP-16: after the 15-minute window the CVV is gone', async (t) => {
  const token = await tokenize('123');
  clock.advance(15 * MINUTE);
  const res = await authorize(vault, token);
  t.equal(res.body.code, 'cvv_required');
  t.equal(await authorizations(token), 0);
  const kept = await tokenize('123');
  clock.advance(15 * MINUTE - 1000);
  t.equal((await authorize(vault, kept)).body.outcome, 'approved', 'just inside the window it is still there');
});

t.test('SP-16: a vault restart loses held CVVs; the client re-enters it', async (t) => {
  const token = await tokenize('123');
  await vault.stop();
  const restarted = await startTestVault(t, { databaseUrl: vault.databaseUrl, env: vault.env, clock });
  const res = await authorize(restarted, token);
  t.equal(res.status, 422);
  t.equal(res.body.code, 'cvv_required');
  t.equal((await authorize(restarted, token, '123')).body.outcome, 'approved', 'the card itself survived the restart');
});
