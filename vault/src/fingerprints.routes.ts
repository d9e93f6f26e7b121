// GET /v1/fingerprints/translations (vault/README.md "Fingerprint key rotation"): after
// re-fingerprinting, the gateway pages through previous → current fingerprint pairs to rewrite what
// it stored, before the previous version is retired. Both sides are keyed HMACs: the pairs say
// nothing either fingerprint does not. Each page read is audited.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Problem } from './errors.js';
import { callerOf } from './caller.js';
import { recordVaultAudit } from './audit.js';
import { Fingerprint } from './tokens.schema.js';
import { listTranslations } from './storage/fingerprints.repository.js';

const TranslationsQuery = Type.Object({
  after: Type.Optional(Fingerprint),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
}, { additionalProperties: false });

const Translations = Type.Object({
  data: Type.Array(Type.Object({ from: Fingerprint, to: Fingerprint })),
});

export const fingerprintsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/fingerprints/translations', {
    schema: { querystring: TranslationsQuery, response: { 200: Translations, 400: Problem, 500: Problem } },
  }, async (request) => {
    const ctx = app.vaultCtx;
    const data = await listTranslations(ctx.db, request.query.after ?? '', request.query.limit ?? 500);
    await recordVaultAudit(ctx.db, ctx.clock, callerOf(request), {
      action: 'vault.fingerprint.translations', outcome: 'success', details: { records: data.length },
    });
    return { data };
  });
};
