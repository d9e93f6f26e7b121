// /readyz is unauthenticated: a flood of calls shares one probe of PostgreSQL, Redis and the vault.
import t from 'tap';
import type { VaultClient } from '../../lib/vault-client.js';
import { READINESS_CACHE_MS } from '../src/health/health.routes.js';
import { buildTestGateway } from '../../test/support/gateway.js';

function countingVault(answer: () => boolean) {
  const probes = { count: 0 };
  const vault: VaultClient = {
    call: async () => { throw new Error('not used by /readyz'); },
    healthy: async () => { probes.count++; return answer(); },
    close: async () => {},
  };
  return { vault, probes };
}

t.test('100 concurrent /readyz calls cost one probe; the next period probes again', async (t) => {
  let up = true;
  const { vault, probes } = countingVault(() => up);
  const gw = await buildTestGateway(t, { vault });
  const readyz = () => gw.app.inject({ method: 'GET', url: '/readyz' });

  const flood = await Promise.all(Array.from({ length: 100 }, readyz));
  t.equal(probes.count, 1, 'one vault health call for 100 requests');
  t.ok(flood.length > 0 && flood.every((r) => r.statusCode === 200), 'every caller gets the shared answer');
  t.same(flood[0]!.json(), { status: 'ready', checks: { postgres: 'ok', redis: 'ok', vault: 'ok' } });

  up = false;
  gw.clock.advance(READINESS_CACHE_MS - 1);
  t.equal((await readyz()).statusCode, 200, 'inside the period the cached answer stands');
  t.equal(probes.count, 1);

  gw.clock.advance(1);
  const after = await Promise.all(Array.from({ length: 20 }, readyz));
  t.equal(probes.count, 2, 'one new probe once the period is over');
  t.ok(after.length > 0 && after.every((r) => r.statusCode === 503), 'and it sees the vault down');
  t.equal(after[0]!.json().checks.vault, 'down');
});
