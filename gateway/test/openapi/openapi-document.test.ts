// The OpenAPI document (GET /openapi.json) against the routes it describes: it is a valid OpenAPI
// 3.1 document; every client action on the public listener, taken from Fastify's own route table
// (so a route added later without its description fails here), is in it with an operationId,
// summary, tags and a response for every status its schema declares; what each operation says
// about credentials and error codes is what it answers; and the committed document and typed
// client types (gateway/openapi/, `npm run openapi`) are those of the routes as they are.
import { readFileSync } from 'node:fs';
import t from 'tap';
import Fastify, { type RouteOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { validate, compileErrors } from '@readme/openapi-parser';
import { Agent, request } from 'undici';
import { publicApp } from '../../src/app.js';
import { ERROR_STATUS } from '../../src/errors.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { listenPublic } from '../../../test/support/public-listener.js';
import { describePublicApi, documentText, OPENAPI_JSON, OPENAPI_TYPES, typesText } from '../../openapi/describe.js';

type Json = Record<string, any>;

const gw = await buildTestGateway(t, { env: { THREE_DS_SANDBOX_PAGES: 'true', PAYMENTS_SWEEP_INTERVAL_MS: '0' } });
const listener = await listenPublic(t, gw.ctx);
const agent = new Agent({ connect: { ca: listener.ca } });
t.teardown(() => agent.close());

const res = await request(`${listener.url}/openapi.json`, { dispatcher: agent });
const served = await res.body.json() as Json;

async function routeTable(): Promise<RouteOptions[]> {
  const routes: RouteOptions[] = [];
  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRoute', (r) => { if (r.method !== 'HEAD') routes.push(r); });
  await app.register(publicApp, { ctx: gw.ctx });
  await app.ready();
  await app.close();
  return routes;
}
const routes = await routeTable();
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const operations = Object.entries(served.paths as Json).flatMap(([path, item]) =>
  Object.entries(item as Json).map(([method, op]) => ({ path, method: method.toUpperCase(), op: op as Json })));

t.test('served over HTTPS as JSON, and a valid OpenAPI 3.1 document', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(served.openapi, '3.1.0');
  const result = await validate(structuredClone(served) as never);
  t.ok(result.valid, result.valid ? 'valid' : compileErrors(result));
  t.same(Object.keys(served.components.securitySchemes).sort(), ['merchantKey', 'sessionToken']);
  t.ok(served.components.schemas.Problem.properties.code, 'the Problem component has `code`');
});

t.test('every client action of the public listener is described, and nothing else', async (t) => {
  const actions = routes.filter((r) => r.config?.audit);
  t.ok(actions.length >= 20, `${actions.length} routes name an audit action`);
  for (const route of actions) {
    for (const method of [route.method].flat()) {
      const name = `${method} ${route.url}`;
      const op = served.paths[openapiPath(route.url)]?.[method.toLowerCase()] as Json | undefined;
      t.ok(op, `${name} is in the document`);
      if (!op) continue;
      t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${name}: operationId`);
      t.ok(typeof op.summary === 'string' && op.summary.length > 10, `${name}: summary`);
      t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${name}: tags`);
      // Every answer the route's schema shapes is documented; its refusals are documented per
      // status from their codes (several routes share one map of error statuses, wider than what
      // each can answer, so the map itself is not the list).
      const statuses = Object.keys((route.schema?.response ?? {}) as Json).filter((s) => /^[123]/.test(s));
      t.ok(statuses.length > 0 || route.url.startsWith('/v1/3ds/challenges/'), `${name}: its schema shapes the answer`);
      for (const status of statuses) t.ok(op.responses[status], `${name}: a response for ${status}`);
      for (const [status, response] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400) continue;
        const codes = response['x-error-codes'] as string[];
        t.ok(codes.length > 0 && codes.every((c) => ERROR_STATUS[c as keyof typeof ERROR_STATUS] === Number(status)), `${name}: ${status} lists its codes`);
        t.ok(response.content['application/problem+json'], `${name}: ${status} is problem+json`);
      }
    }
  }
  const described = new Set(actions.flatMap((r) => [r.method].flat().map((m) => `${m} ${openapiPath(r.url)}`)));
  t.same(operations.map((o) => `${o.method} ${o.path}`).filter((o) => !described.has(o)), [], 'every operation is a client action of the app');
  for (const url of ['/healthz', '/readyz', '/openapi.json']) t.notOk(served.paths[url], `${url} is not an API call`);
  const ids = operations.map((o) => o.op.operationId as string);
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
});

t.test('what each operation says about credentials and refusals is what it answers', async (t) => {
  // Called with no credentials and no valid input: a route behind a session or a key refuses
  // with 401 before anything else; any other refuses the input. Either answer must be documented.
  for (const { path, method, op } of operations) {
    const name = `${method} ${path}`;
    const schemes = ((op.security ?? []) as Json[]).flatMap((s) => Object.keys(s));
    const url = path.replace(/\{[^}]+\}/g, 'x');
    const answer = await gw.app.inject({ method: method as 'GET', url, ...(op.requestBody ? { payload: {} } : {}) });
    const code = answer.json().code as string;
    if (schemes.includes('sessionToken')) t.same([answer.statusCode, code], [401, 'unauthorized'], `${name}: a session is required`);
    else if (schemes.includes('merchantKey')) t.same([answer.statusCode, code], [401, 'api_key_invalid'], `${name}: a secret key is required`);
    else t.not(answer.statusCode, 401, `${name}: no credentials needed`);
    const documented = op.responses[String(answer.statusCode)] as Json | undefined;
    t.ok(documented?.['x-error-codes']?.includes(code), `${name}: ${answer.statusCode} ${code} is documented`);
  }
});

t.test('the committed document and types are those of the routes (npm run openapi)', async (t) => {
  const committed = readFileSync(OPENAPI_JSON, 'utf8');
  t.equal(documentText(served), committed, 'gateway/openapi/openapi.json is what /openapi.json serves; run `npm run openapi`');
  t.equal(documentText(await describePublicApi()), committed, 'the app built without services describes the same routes');
  t.equal(await typesText(JSON.parse(committed)), readFileSync(OPENAPI_TYPES, 'utf8'), 'gateway/openapi/schema.d.ts is generated from it; run `npm run openapi`');
});
