// The mutual-TLS baseline for the benchmarks: a bare Fastify echo route over the same mutual-TLS
// setup as the vault's listener (client certificate required, TLS 1.2+, AEAD ciphers, the vault's
// development certificate), nothing else. Reports its port through the readiness message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { mutualTlsServerOptions } from '../lib/mtls.js';
import { signalReady } from '../lib/listen.js';
import { dataDir } from '../lib/paths.js';

const pki = join(dataDir(process.env), 'pki');
const app = Fastify({
  logger: false,
  https: mutualTlsServerOptions({ cert: readFileSync(join(pki, 'vault.crt')), key: readFileSync(join(pki, 'vault.key')), ca: readFileSync(join(pki, 'ca.crt')) }),
});
app.post('/echo', async (request) => request.body);
await app.listen({ host: '127.0.0.1', port: 0 });
signalReady('bare-mtls', { port: (app.server.address() as { port: number }).port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
