// The sandbox 3-D Secure challenge page (SP-18) on the public listener: the vault is private, so
// the browser reaches the ACS through here. The challenge ref (≥128 random bits from the vault)
// in the URL is the capability; no session is needed, as with a real ACS redirect. GET renders a
// small page; its form POSTs result=pass|fail back to the same URL, which completes the challenge
// at the vault and finishes the payment. CSP is loosened for these pages only: one nonce for the
// page's own inline style, and forms may post to this origin — nothing else.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { applyAuthorization, currentPayment } from './payments.confirm.js';
import { findPaymentByChallengeRef } from './payments.repository.js';
import { formatMoney } from './payments.view.js';
import { completeChallenge, getChallenge } from './vault-api.js';

const Params = Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9_-]{16,128}$' }) });
const FormBody = Type.Object({ result: Type.Union([Type.Literal('pass'), Type.Literal('fail')]) });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  const nonce = randomBytes(16).toString('base64');
  reply.header('content-security-policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
  return reply.code(status).type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}button{margin:.5rem .5rem 0 0;padding:.5rem 1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

const OUTCOME_TEXT: Record<string, string> = {
  succeeded: 'Authentication passed. The payment is complete; you can close this window.',
  failed: 'Authentication failed. The payment was not made.',
  expired: 'This payment expired before authentication was completed.',
};

const threeDsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Only these routes read HTML forms; the rest of the API stays JSON-only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  async function openPayment(ref: string) {
    const found = await findPaymentByChallengeRef(app.ctx.db, ref);
    return found ? currentPayment(app.ctx, found.id) : undefined;
  }

  app.get('/v1/3ds/challenges/:ref', { schema: { params: Params } }, async (request, reply) => {
    const payment = await openPayment(request.params.ref);
    if (!payment) return page(reply, 404, 'Unknown authentication request', '<p>This link is not valid.</p>');
    if (payment.status !== 'requires_action') {
      return page(reply, 409, 'Nothing to authenticate', `<p>${escapeHtml(OUTCOME_TEXT[payment.status] ?? 'This payment is no longer waiting for authentication.')}</p>`);
    }
    const challenge = await getChallenge(app.ctx.vault, request.params.ref);
    return page(reply, 200, '3-D Secure (sandbox)', `
<p>Confirm the payment of <strong>${escapeHtml(formatMoney(challenge.amount.value, challenge.amount.currency))}</strong>
to <strong>${escapeHtml(challenge.merchant)}</strong> with card *${escapeHtml(challenge.last4)}.</p>
<form method="post"><button name="result" value="pass">Authenticate</button><button name="result" value="fail">Cancel</button></form>`);
  });

  app.post('/v1/3ds/challenges/:ref', { schema: { params: Params, body: FormBody } }, async (request, reply) => {
    const { ctx } = app;
    const payment = await openPayment(request.params.ref);
    if (!payment) return page(reply, 404, 'Unknown authentication request', '<p>This link is not valid.</p>');
    if (payment.status === 'requires_action') {
      const result = await completeChallenge(ctx.vault, request.params.ref, request.body.result);
      await applyAuthorization(ctx, request, payment, 'requires_action', result);
    }
    const after = (await currentPayment(ctx, payment.id))!;
    const text = OUTCOME_TEXT[after.status] ?? 'This payment is no longer waiting for authentication.';
    return page(reply, 200, after.status === 'succeeded' ? 'Payment complete' : 'Payment not made', `<p>${escapeHtml(text)}</p>`);
  });
};

export default threeDsRoutes;
