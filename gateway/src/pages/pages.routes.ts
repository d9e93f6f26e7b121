// The bank's pages on the public listener (issue 16): `/`, `/checkout/{sessionId}` and their
// content-hashed assets. These are documents, not API actions: they read and change nothing, so
// they name no audit action (like /healthz); every API call the pages make is audited as usual.
// Their CSP allows this origin's scripts, styles and API only: no inline code, no third party,
// nothing may frame them, and forms post only here.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pageAssets, type PageAsset } from './build.js';
import { pageDocument } from './html.js';
import { verifiedAssets } from './inventory.js';
import { LANG_COOKIE, pageLanguage } from './language.js';

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

// A checkout session id as the merchant API issues it; anything else is not a page.
const CheckoutParams = Type.Object({ sessionId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,100}$' }) });
const AssetParams = Type.Object({ file: Type.String({ pattern: '^[a-z]+\\.[0-9a-f]{20}\\.(js|css)$' }) });

const pagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const assets = await verifiedAssets(await pageAssets());
  const byFile = new Map<string, PageAsset>([assets.script, assets.style].map((a) => [a.file, a]));

  function send(request: FastifyRequest, reply: FastifyReply, html: string) {
    reply.header('content-security-policy', PAGE_CSP);
    reply.header('vary', 'accept-language, cookie');
    return reply.type('text/html; charset=utf-8').send(html);
  }
  const langOf = (request: FastifyRequest) => pageLanguage(request.cookies[LANG_COOKIE], request.headers['accept-language']);

  app.get('/', async (request, reply) => send(request, reply, pageDocument(assets, langOf(request), 'home')));

  app.get('/checkout/:sessionId', { schema: { params: CheckoutParams } }, async (request, reply) =>
    send(request, reply, pageDocument(assets, langOf(request), 'checkout', request.params.sessionId)));

  app.get('/assets/:file', { schema: { params: AssetParams }, config: { cache: 'immutable' } }, async (request, reply) => {
    const asset = byFile.get(request.params.file);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    return reply.type(asset.contentType).send(asset.body);
  });
};

export default pagesRoutes;
