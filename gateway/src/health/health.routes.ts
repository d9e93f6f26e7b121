// Liveness (the process answers) and readiness (it can reach PostgreSQL, Redis and the vault).
import { sql } from 'kysely';
import { Type, type Static, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Clock } from '../../../lib/clock.js';

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')]);
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ postgres: Check, redis: Check, vault: Check }),
});
type Readiness = Static<typeof Readiness>;

/** How long one readiness probe answers every /readyz call. */
export const READINESS_CACHE_MS = 1_000;

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'down'> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
    return 'ok';
  } catch {
    return 'down';
  }
}

/**
 * /readyz is unauthenticated and each probe costs a database query, a Redis ping and a vault
 * call: a flood must not multiply them. Callers share the probe in flight, and its result
 * answers for READINESS_CACHE_MS after it completes.
 */
function sharedProbe(run: () => Promise<Readiness>, clock: Clock): () => Promise<Readiness> {
  let last: { at: number; result: Readiness } | undefined;
  let inFlight: Promise<Readiness> | undefined;
  return () => {
    if (last && clock.now().getTime() - last.at < READINESS_CACHE_MS) return Promise.resolve(last.result);
    inFlight ??= run()
      .then((result) => {
        last = { at: clock.now().getTime(), result };
        return result;
      })
      .finally(() => { inFlight = undefined; });
    return inFlight;
  };
}

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  const { db, redis, vault, clock } = app.ctx;
  const readiness = sharedProbe(async () => {
    const [postgres, redisCheck, vaultCheck] = await Promise.all([
      probe(() => sql`select 1`.execute(db)),
      probe(() => redis.ping()),
      probe(async () => { if (!(await vault.healthy())) throw new Error('vault'); }),
    ]);
    const checks = { postgres, redis: redisCheck, vault: vaultCheck };
    const ready = Object.values(checks).every((c) => c === 'ok');
    return { status: ready ? 'ready' : 'not_ready', checks };
  }, clock);

  app.get('/readyz', {
    schema: { response: { 200: Readiness, 503: Readiness } },
  }, async (_request, reply) => {
    const result = await readiness();
    return reply.code(result.status === 'ready' ? 200 : 503).send(result);
  });
};

export default healthRoutes;
