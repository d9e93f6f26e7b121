// The last pass over the generated OpenAPI document: each operation's error answers become one
// response per status, application/problem+json, listing the stable `code`s it can carry (as
// text for people and `x-error-codes` for tools, and as an enum the typed client narrows on); and
// every schema that carries a `title` becomes a component of that name, referenced where used.
import { STATUS_CODES } from 'node:http';
import { ERROR_STATUS, Problem, type ErrorCode } from '../errors.js';

type Json = Record<string, any>;

const PROBLEM_REF = '#/components/schemas/Problem';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The Problem component: `code` is one of the contract's codes (errors.ts). */
export function problemComponent(): Json {
  const schema = JSON.parse(JSON.stringify(Problem)) as Json;
  schema.title = 'Problem';
  schema.description = 'RFC 9457 problem details; `code` is stable, match on it rather than on `title` or `detail`.';
  schema.properties.code = { type: 'string', enum: Object.keys(ERROR_STATUS) };
  return schema;
}

/** Codes any operation of its kind can answer, whatever the route does. */
function commonCodes(op: Json): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (op.requestBody || (op.parameters?.length ?? 0) > 0) codes.push('validation_failed');
  const schemes = ((op.security ?? []) as Json[]).flatMap((s) => Object.keys(s));
  if (schemes.includes('sessionToken')) codes.push('unauthorized', 'client_blocked');
  if (schemes.includes('merchantKey')) codes.push('api_key_invalid', 'api_key_revoked', 'api_key_expired');
  // The allowed-hosts check, load shedding, the per-address ceiling and the error handler stand before every route.
  codes.push('host_not_allowed', 'overloaded', 'rate_limited', 'internal_error');
  return codes;
}

function problemResponse(status: number, codes: readonly string[]): Json {
  return {
    description: `${STATUS_CODES[status] ?? 'Error'}: problem+json with \`code\` ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    'x-error-codes': codes,
    content: {
      'application/problem+json': {
        schema: { allOf: [{ $ref: PROBLEM_REF }, { type: 'object', required: ['code'], properties: { code: { enum: codes } } }] },
      },
    },
  };
}

/** Replaces an operation's error responses (ranges or statuses) by one per status of its codes. */
export function describeErrors(op: Json): void {
  const declared = (op['x-error-codes'] ?? []) as ErrorCode[];
  const codes = [...new Set([...commonCodes(op), ...declared])];
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Json = {};
  for (const [status, response] of Object.entries(op.responses as Json)) {
    if (!/^[123]/.test(status)) continue;
    if (response.description === 'Default Response') response.description = STATUS_CODES[Number(status)] ?? status;
    responses[status] = response;
  }
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) responses[String(status)] = problemResponse(status, byStatus.get(status)!);
  op.responses = responses;
  op['x-error-codes'] = codes;
}

function hoistSchema(node: unknown, components: Json): unknown {
  if (Array.isArray(node)) return node.map((n) => hoistSchema(n, components));
  if (node === null || typeof node !== 'object') return node;
  const copy: Json = {};
  for (const [k, v] of Object.entries(node)) copy[k] = k === 'properties' || k === '$defs'
    ? Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, hoistSchema(s, components)]))
    : hoistSchema(v, components);
  if (typeof copy.title !== 'string' || !('type' in copy || 'anyOf' in copy || 'allOf' in copy || 'oneOf' in copy)) return copy;
  const existing = components[copy.title];
  if (existing && JSON.stringify(existing) !== JSON.stringify(copy)) {
    throw new Error(`OpenAPI: two different schemas are titled ${copy.title}`);
  }
  components[copy.title] = copy;
  return { $ref: `#/components/schemas/${copy.title}` };
}

function hoistIn(node: unknown, components: Json): unknown {
  if (Array.isArray(node)) return node.map((n) => hoistIn(n, components));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === 'schema' ? hoistSchema(v, components) : hoistIn(v, components)]));
}

/** The @fastify/swagger `transformObject` of the public API. */
export function finishDocument(doc: Json): Json {
  for (const item of Object.values(doc.paths as Json)) {
    for (const method of METHODS) if (item[method]) describeErrors(item[method]);
  }
  const components: Json = { Problem: problemComponent() };
  const paths = hoistIn(doc.paths, components) as Json;
  return { ...doc, paths, components: { ...doc.components, schemas: { ...doc.components?.schemas, ...components } } };
}
