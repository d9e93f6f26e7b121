// Hosted checkout on the public listener: the merchant's calls behind its secret key, the page's
// read without credentials, and the customer's payment behind the client session.
import type { FastifyInstance } from 'fastify';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';
import { customerCheckoutRoutes, merchantCheckoutRoutes, publicCheckoutRoutes } from './checkout.routes.js';

export default async function checkoutPlugin(app: FastifyInstance): Promise<void> {
  await app.register(async (merchant) => {
    merchant.setValidatorCompiler(strictValidatorCompiler);
    merchant.addHook('onRequest', merchant.authenticateMerchant);
    await merchant.register(merchantCheckoutRoutes);
  });
  await app.register(async (page) => {
    page.setValidatorCompiler(strictValidatorCompiler);
    await page.register(publicCheckoutRoutes);
  });
  await app.register(async (customer) => {
    customer.setValidatorCompiler(strictValidatorCompiler);
    customer.addHook('onRequest', customer.authenticate);
    await customer.register(customerCheckoutRoutes);
  });
}
