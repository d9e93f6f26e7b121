// The payments capability on the public listener. Client calls sit in one encapsulated plugin
// behind app.authenticate (SP-14: card operations need a logged-in client), the sandbox 3-D
// Secure answer among them; the sandbox's challenge page sits in another without it (the browser
// holds the challenge ref, a capability to look). Both exist only with THREE_DS_SANDBOX_PAGES.
// A sweeper expires unconfirmed payments and checkout sessions past their time, drops idempotency keys past 24 hours, and asks the vault
// again for payments, refunds and card deletions (SP-16) it could not be reached for.
import type { FastifyInstance } from 'fastify';
import { purgeExpiredIdempotencyKeys } from './idempotency.js';
import { expirePayments } from './payments.confirm.js';
import { expireDueSessions } from '../checkout/sessions.service.js';
import { retryPendingRefunds } from './refund-retry.js';
import { retryCardPurges } from './card-purge.js';
import { retryStuckPayments } from './payment-retry.js';
import cardsRoutes from './cards.routes.js';
import disputesRoutes from './disputes.routes.js';
import paymentsRoutes from './payments.routes.js';
import providersRoutes from './providers.routes.js';
import { threeDsAnswerRoutes, threeDsPageRoutes } from './three-ds.routes.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';

export default async function paymentsPlugin(app: FastifyInstance): Promise<void> {
  const sandboxAcs = app.ctx.config.payments.threeDsSandboxPages;
  await app.register(async (authenticated) => {
    authenticated.setValidatorCompiler(strictValidatorCompiler);
    authenticated.addHook('onRequest', authenticated.authenticate);
    await authenticated.register(providersRoutes);
    await authenticated.register(cardsRoutes);
    await authenticated.register(paymentsRoutes);
    await authenticated.register(disputesRoutes);
    if (sandboxAcs) await authenticated.register(threeDsAnswerRoutes);
  });
  if (sandboxAcs) {
    await app.register(async (acs) => {
      acs.setValidatorCompiler(strictValidatorCompiler);
      await acs.register(threeDsPageRoutes);
    });
  }

  const { ctx } = app;
  if (ctx.config.payments.sweepIntervalMs > 0) {
    const sweep = async () => {
      const now = ctx.clock.now();
      await expirePayments(ctx, now);
      await expireDueSessions(ctx, now);
      await purgeExpiredIdempotencyKeys(ctx.db, now);
      await retryPendingRefunds(ctx, now, app.log);
      await retryCardPurges(ctx, now, app.log);
      await retryStuckPayments(ctx, now, app.log);
    };
    const timer = setInterval(() => {
      sweep().catch((err) => app.log.warn({ err }, 'payments sweep failed; retried next interval'));
    }, ctx.config.payments.sweepIntervalMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
}
