// Graceful stop (issue 17): SIGTERM to a gateway with many requests in flight lets every one of
// them finish with its real answer (no 503, no reset), then the process exits 0. Logins of unknown
// phones are the in-flight work: each costs a full password hash (SP-11 dummy hash).
import t from 'tap';
import { Agent, request } from 'undici';
import { startGatewayProcess } from '../support/gateway.js';
import { pkiFile } from '../support/pki.js';
import { randomKzPhone } from '../support/clients.js';
import { exitOf } from '../support/processes.js';
import { LIFTED_CEILINGS } from '../../loadtest/test/support.js';

t.test('graceful shutdown: SIGTERM under load, every in-flight request gets its answer and the process exits 0', async (t) => {
  const gw = await startGatewayProcess(t, { ...LIFTED_CEILINGS, PASSWORD_HASH_MEMORY_KIB: '19456', PASSWORD_HASH_TIME_COST: '2' });
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt') } });
  t.teardown(() => agent.close());
  const login = async () => {
    const res = await request(`https://localhost:${String(gw.ready.publicPort)}/v1/sessions`, {
      method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: randomKzPhone(), password: 'Wrong-Password-1' }),
    });
    await res.body.text();
    return res.statusCode;
  };
  const inFlight = Array.from({ length: 24 }, () => login().catch((err: Error) => `error ${err.message}`));
  // The first answer means the rest were read and wait for the password hasher.
  await Promise.race(inFlight);
  const exited = exitOf(gw.child);
  gw.child.kill('SIGTERM');
  const statuses = await Promise.all(inFlight);
  t.same([...new Set(statuses)], [401], 'every in-flight login got its own answer (401), none a 503 or a reset');
  // The keep-alive connections those answers came on are released, not held for 65 s past the
  // 20 s grace (lib/listen.ts releaseConnectionsOnClose).
  t.equal(await exited, 0, 'the process drained and exited 0');
  t.notMatch(gw.output(), /did not finish cleanly/, 'no forced exit');
});
