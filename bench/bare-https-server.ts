// The baseline for the benchmarks: a bare Fastify route over the same HTTPS setup as the gateway's
// public listener (TLS 1.2+, AEAD ciphers, the development certificate), nothing else. Started by
// bench/payments.ts as its own process; reports its port through the readiness message.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { AEAD_CIPHERS } from '../lib/mtls.js';
import { signalReady } from '../lib/listen.js';
import { dataDir } from '../lib/paths.js';

const pki = join(dataDir(process.env), 'pki');
const app = Fastify({
  logger: false,
  https: { cert: readFileSync(join(pki, 'public.crt')), key: readFileSync(join(pki, 'public.key')), minVersion: 'TLSv1.2', ciphers: AEAD_CIPHERS },
});
app.post('/echo', async (request) => ({ ok: true, received: request.body }));
await app.listen({ host: '127.0.0.1', port: 0 });
signalReady('bare', { port: (app.server.address() as { port: number }).port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
