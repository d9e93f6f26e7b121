// The sandbox 3-D Secure challenge (SP-18), mounted only while THREE_DS_SANDBOX_PAGES is on (the
// vault runs the sandbox processor; refused in production, where the issuer's ACS authenticates
// the cardholder):
// - GET /v1/3ds/challenges/{ref} on the public listener shows what is being authenticated. The
//   challenge ref (≥128 random bits from the vault) in the URL is a capability to look, nothing
//   more: the page changes nothing and has no form. CSP allows one nonce for its inline style.
// - POST /v1/payments/{id}/3ds {result: pass|fail} answers the challenge in the paying client's
//   session (three-ds.complete.ts): another client's session finds no payment, a blocked client
//   is refused by app.authenticate, and a bare ref authorizes nothing.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { originOf } from '../audit/record.js';
import { Problem } from '../errors.js';
import { operation } from '../plugins/openapi-operation.js';
import { currentPayment } from './payments.confirm.js';
import { findPaymentByChallengeRef } from './payments.repository.js';
import { PaymentParams, PaymentView } from './payments.schema.js';
import { formatMoney } from './payments.view.js';
import { completeThreeDs } from './three-ds.complete.js';
import { getChallenge } from './vault-api.js';

const Params = Type.Object({ ref: Type.String({ pattern: '^[A-Za-z0-9_-]{16,128}$' }) });
const AnswerBody = Type.Object({ result: Type.Union([Type.Literal('pass'), Type.Literal('fail')]) }, { additionalProperties: false });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  const nonce = randomBytes(16).toString('base64');
  reply.header('content-security-policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`);
  return reply.code(status).type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}code{word-break:break-all}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

const OUTCOME_TEXT: Record<string, string> = {
  succeeded: 'Authentication passed. The payment is complete; you can close this window.',
  failed: 'Authentication failed. The payment was not made.',
  expired: 'This payment expired before authentication was completed.',
  processing: 'Your answer is being processed.',
};

/** The sandbox ACS page, on the public listener without a session. */
export const threeDsPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/3ds/challenges/:ref', {
    config: { audit: { action: 'three_ds.challenge_viewed' } },
    schema: {
      ...operation({ id: 'viewThreeDsChallenge', summary: 'The sandbox 3-D Secure challenge page', tags: ['3-D Secure (sandbox)'],
        description: 'An HTML page (`text/html`) for the payer\'s browser: 200 shows what is authenticated, 404 an unknown ref, 409 a payment no longer waiting. Sandbox only (`THREE_DS_SANDBOX_PAGES`).' }),
      params: Params,
    },
  }, async (request, reply) => {
    const found = await findPaymentByChallengeRef(app.ctx.db, request.params.ref);
    const payment = found ? await currentPayment(app.ctx, found.id) : undefined;
    if (!payment) return page(reply, 404, 'Unknown authentication request', '<p>This link is not valid.</p>');
    if (payment.status !== 'requires_action') {
      return page(reply, 409, 'Nothing to authenticate', `<p>${escapeHtml(OUTCOME_TEXT[payment.status] ?? 'This payment is no longer waiting for authentication.')}</p>`);
    }
    const challenge = await getChallenge(app.ctx.vault, request.params.ref);
    return page(reply, 200, '3-D Secure (sandbox)', `
<p>Confirm the payment of <strong>${escapeHtml(formatMoney(challenge.amount.value, challenge.amount.currency))}</strong>
to <strong>${escapeHtml(challenge.merchant)}</strong> with card *${escapeHtml(challenge.last4)}.</p>
<p>Sandbox: answer in the app, which sends <code>POST /v1/payments/${escapeHtml(payment.id)}/3ds</code>
<code>{"result": "pass"}</code> or <code>{"result": "fail"}</code> in your session.</p>`);
  });
};

/** The answer, inside the payments plugin that authenticates every call. */
export const threeDsAnswerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem, 503: Problem };
  app.post('/v1/payments/:id/3ds', {
    config: { audit: { action: 'payment.three_ds_answer', idTarget: 'paymentId' } },
    schema: {
      ...operation({ id: 'answerThreeDsChallenge', summary: 'Answer the sandbox 3-D Secure challenge in the payer\'s session', tags: ['3-D Secure (sandbox)'], auth: 'sessionToken',
        errors: ['not_found', 'payment_expired', 'vault_unavailable'] }),
      params: PaymentParams, body: AnswerBody, response: { 200: PaymentView, ...errors },
    },
  }, async (request) => completeThreeDs(app.ctx, originOf(request), { id: request.client.id, phone: request.client.phone }, {
    paymentId: request.params.id, result: request.body.result,
  }));
};
