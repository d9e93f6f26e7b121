// Webhook endpoints and deliveries on the public listener, behind the merchant's secret key.
import type { FastifyInstance } from 'fastify';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';
import { merchantWebhookRoutes } from './webhooks.routes.js';

export default async function webhooksPlugin(app: FastifyInstance): Promise<void> {
  await app.register(async (merchant) => {
    merchant.setValidatorCompiler(strictValidatorCompiler);
    merchant.addHook('onRequest', merchant.authenticateMerchant);
    await merchant.register(merchantWebhookRoutes);
  });
}
