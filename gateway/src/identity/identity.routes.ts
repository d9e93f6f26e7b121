// Every public identity route (SP-5 … SP-11), registered by publicApp after `authenticate`.
import type { FastifyPluginAsync } from 'fastify';
import passwordChangeRoutes from './password-change.routes.js';
import sessionRoutes from './sessions.routes.js';
import verificationRoutes from './verification.routes.js';
import { strictValidatorCompiler } from '../plugins/strict-validator.js';

const identityRoutes: FastifyPluginAsync = async (app) => {
  app.setValidatorCompiler(strictValidatorCompiler);
  await app.register(verificationRoutes);
  await app.register(sessionRoutes);
  await app.register(passwordChangeRoutes);
};

export default identityRoutes;
