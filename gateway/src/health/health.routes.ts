// Liveness (the process answers) and readiness (it can reach PostgreSQL, Redis and the vault).
import { sql } from 'kysely';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')]);
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ postgres: Check, redis: Check, vault: Check }),
});

async function probe(check: () => Promise<unknown>): Promise<'ok' | 'down'> {
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
    return 'ok';
  } catch {
    return 'down';
  }
}

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { response: { 200: Readiness, 503: Readiness } },
  }, async (_request, reply) => {
    const { db, redis, vault } = app.ctx;
    const [postgres, redisCheck, vaultCheck] = await Promise.all([
      probe(() => sql`select 1`.execute(db)),
      probe(() => redis.ping()),
      probe(async () => { if (!(await vault.healthy())) throw new Error('vault'); }),
    ]);
    const checks = { postgres, redis: redisCheck, vault: vaultCheck };
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
};

export default healthRoutes;
