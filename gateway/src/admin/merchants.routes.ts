// Staff register merchants and manage their secret keys (design.md, staff table): the secret is in
// the 201 answer only; lists show its last 4 characters, mode, expiry, revocation and last use.
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { originOf } from '../audit/record.js';
import { DomainError, Problem } from '../errors.js';
import { Uuid } from '../identity/identity.schema.js';
import { findMerchant, listKeys, type KeyRow } from '../merchants/merchants.repository.js';
import { createKey, createMerchant, revokeMerchantKey } from '../merchants/merchants.service.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';

const Timestamp = Type.String({ format: 'date-time' });
// The strict validator knows no formats: a request's timestamp is checked by pattern, then parsed.
const TimestampInput = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?(Z|[+-]\\d{2}:\\d{2})$' });
const errors = { '4xx': Problem, '5xx': Problem };

const MerchantView = Type.Object({
  id: Type.String(), name: Type.String(), providerId: Type.String(), returnOrigins: Type.Array(Type.String()), createdAt: Timestamp,
});
const KeyView = Type.Object({
  id: Type.String(),
  mode: Type.Union([Type.Literal('test'), Type.Literal('live')]),
  last4: Type.String(),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
});

const keyView = (k: KeyRow) => ({
  id: k.id,
  mode: k.livemode ? 'live' as const : 'test' as const,
  last4: k.last4,
  createdAt: k.created_at.toISOString(),
  expiresAt: k.expires_at?.toISOString() ?? null,
  revokedAt: k.revoked_at?.toISOString() ?? null,
  lastUsedAt: k.last_used_at?.toISOString() ?? null,
});

const adminMerchantsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  const staffOf = (request: FastifyRequest) => ({ id: request.staffIdentity, origin: originOf(request) });

  app.post('/v1/merchants', {
    config: { audit: { action: 'merchant.created' } },
    schema: {
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 200 }),
        providerId: Type.String({ minLength: 2, maxLength: 40 }),
        returnOrigins: Type.Array(Type.String({ maxLength: 300 }), { minItems: 1, maxItems: 20 }),
      }, { additionalProperties: false }),
      response: { 201: MerchantView, ...errors },
    },
  }, async (request, reply) => {
    const m = await createMerchant(app.ctx, staffOf(request), request.body);
    return reply.code(201).send({ id: m.id, name: m.name, providerId: m.provider_id, returnOrigins: m.return_origins, createdAt: m.created_at.toISOString() });
  });

  app.post('/v1/merchants/:id/keys', {
    config: { audit: { action: 'merchant_key.created', idTarget: 'merchantId' } },
    schema: {
      params: Type.Object({ id: Uuid }),
      body: Type.Object({ mode: Type.Union([Type.Literal('test'), Type.Literal('live')]), expiresAt: Type.Optional(TimestampInput) }, { additionalProperties: false }),
      response: { 201: Type.Object({ id: Type.String(), secret: Type.String(), mode: KeyView.properties.mode, createdAt: Timestamp, expiresAt: Type.Union([Timestamp, Type.Null()]) }), ...errors },
    },
  }, async (request, reply) => {
    const expiresAt = request.body.expiresAt === undefined ? undefined : new Date(request.body.expiresAt);
    const { key, secret } = await createKey(app.ctx, staffOf(request), {
      merchantId: request.params.id, livemode: request.body.mode === 'live', ...(expiresAt ? { expiresAt } : {}),
    });
    reply.header('cache-control', 'no-store');
    const view = keyView(key);
    return reply.code(201).send({ id: view.id, secret, mode: view.mode, createdAt: view.createdAt, expiresAt: view.expiresAt });
  });

  app.get('/v1/merchants/:id/keys', {
    config: { audit: { action: 'merchant_keys.listed', idTarget: 'merchantId' } },
    schema: { params: Type.Object({ id: Uuid }), response: { 200: Type.Object({ data: Type.Array(KeyView) }), ...errors } },
  }, async (request) => {
    if (!(await findMerchant(app.ctx.db, request.params.id))) throw new DomainError('not_found', 'no such merchant');
    return { data: (await listKeys(app.ctx.db, request.params.id)).map(keyView) };
  });

  app.delete('/v1/merchants/:id/keys/:keyId', {
    config: { audit: { action: 'merchant_key.revoked', idTarget: 'merchantId' } },
    schema: { params: Type.Object({ id: Uuid, keyId: Uuid }), response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await revokeMerchantKey(app.ctx, staffOf(request), request.params.id, request.params.keyId);
    return reply.code(204).send(null);
  });
};

export default adminMerchantsRoutes;
