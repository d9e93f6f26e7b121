// SP-1 / SP-17: the public listener speaks TLS 1.2+ with ECDHE + AEAD suites only, sends HSTS and
// the security headers, and keeps secrets out of its logs. Against the real gateway process.
import t from 'tap';
import { connect, type ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import { startGatewayProcess } from '../../test/support/gateway.js';
import { pkiFile } from '../../test/support/pki.js';

function handshake(port: number, opts: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pkiFile('ca.crt'), ...opts }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

const PAN = '4400430000000007';
const PASSWORD = 'Canary-Passw0rd!';
const TOKEN = 'canary-session-token-0123456789abcdef';

t.test('SP-1: public listener', async (t) => {
  const gateway = await startGatewayProcess(t, { LOG_LEVEL: 'trace' });
  const port = Number(gateway.ready.publicPort);

  t.test('refuses TLS 1.0 and 1.1', async (t) => {
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      await t.rejects(handshake(port, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, version);
    }
  });

  t.test('refuses non-AEAD and non-ECDHE suites on TLS 1.2', async (t) => {
    for (const cipher of ['ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-SHA256']) {
      await t.rejects(handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher }), { code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' }, cipher);
    }
  });

  t.test('accepts TLS 1.2 ECDHE-AEAD and TLS 1.3', async (t) => {
    const tls12 = await handshake(port, { maxVersion: 'TLSv1.2' });
    t.equal(tls12.protocol, 'TLSv1.2');
    t.match(tls12.cipher, /^ECDHE-RSA-(AES(128|256)-GCM|CHACHA20-POLY1305)/);
    const tls13 = await handshake(port, { minVersion: 'TLSv1.3' });
    t.equal(tls13.protocol, 'TLSv1.3');
    t.match(tls13.cipher, /^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)/);
  });

  t.test('sends HSTS and the security headers', async (t) => {
    const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), servername: 'localhost' } });
    t.teardown(() => agent.close());
    const res = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher: agent, headers: { host: 'localhost' } });
    await res.body.text();
    t.equal(res.statusCode, 200);
    t.match(res.headers['strict-transport-security'], /max-age=63072000; includeSubDomains; preload/);
    t.match(res.headers['content-security-policy'], /default-src 'none'/);
    t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['cache-control'], 'no-store');
    t.notOk(res.headers['x-powered-by']);
  });

  t.test('secrets sent in requests never reach the log', async (t) => {
    const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), servername: 'localhost' } });
    t.teardown(() => agent.close());
    for (const path of ['/v1/payments', '/v1/sessions', '/healthz']) {
      const res = await request(`https://127.0.0.1:${port}${path}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { host: 'localhost', authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ card: { number: PAN, cvv: '123' }, password: PASSWORD, phone: '+77011234567' }),
      });
      const body = await res.body.text();
      t.notMatch(body, PAN, `${path}: no PAN in the response`);
      t.notMatch(body, PASSWORD, `${path}: no password in the response`);
    }
    const broken = await request(`https://127.0.0.1:${port}/v1/sessions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { host: 'localhost', 'content-type': 'application/json' },
      body: `{"password":"${PASSWORD}","number":"${PAN}",`,
    });
    const brokenBody = await broken.body.text();
    t.notMatch(brokenBody, PAN, 'malformed JSON: the parse error does not echo the body');
    t.notMatch(brokenBody, PASSWORD);
    const log = gateway.output();
    t.match(log, /incoming request/, 'requests were logged');
    t.notMatch(log, PAN);
    t.notMatch(log, PASSWORD);
    t.notMatch(log, TOKEN);
  });
});
