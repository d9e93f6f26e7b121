// SP-5.1: codes reach the client's phone through the bank's SMS provider. The production adapter
// is exercised against a real HTTPS server on 127.0.0.1 standing in for that provider: what it
// sends, that TLS is verified, and that every failure is a 503 that never repeats the message.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { httpSmsProvider } from '../../src/identity/sms.provider.js';
import { DomainError } from '../../src/errors.js';
import { pkiFile } from '../../../test/support/pki.js';

interface Received { method?: string; headers: IncomingMessage['headers']; body: string }

async function provider(t: Test, answer: (res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer({ cert: pkiFile('public.crt'), key: pkiFile('public.key') }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { received.push({ method: req.method, headers: req.headers, body }); answer(res); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const url = new URL(`https://localhost:${(server.address() as AddressInfo).port}/v1/messages`);
  return { url, received };
}

const message = { to: '+77011234567', text: '123456 is your code. Never share it.' };

t.test('SP-5.1: the code goes out as JSON with the bearer token, over verified TLS', async (t) => {
  const { url, received } = await provider(t, (res) => res.writeHead(202).end());
  const sms = httpSmsProvider(url, 'sms-token-for-tests', 2000, pkiFile('ca.crt'));
  t.teardown(() => sms.close());
  await sms.send(message);
  t.equal(received.length, 1);
  t.equal(received[0]!.method, 'POST');
  t.equal(received[0]!.headers.authorization, 'Bearer sms-token-for-tests');
  t.match(received[0]!.headers['content-type'], /^application\/json/);
  t.same(JSON.parse(received[0]!.body), message);
});

async function refusal(t: Test, send: Promise<void>): Promise<DomainError> {
  const err = await send.then(() => undefined, (e: unknown) => e);
  t.type(err, DomainError);
  const domain = err as DomainError;
  t.equal(domain.code, 'service_unavailable');
  t.equal(domain.status, 503);
  t.equal(domain.headers['retry-after'], '30');
  t.notMatch(domain.message, /123456/, 'the code is not in the error');
  return domain;
}

t.test('SP-5.1: a provider error is a 503 that does not repeat the message', async (t) => {
  const { url } = await provider(t, (res) => res.writeHead(500).end(JSON.stringify(message)));
  const sms = httpSmsProvider(url, 'sms-token-for-tests', 2000, pkiFile('ca.crt'));
  t.teardown(() => sms.close());
  t.match((await refusal(t, sms.send(message))).message, /refused the message \(500\)/);
});

t.test('SP-5.1: a provider that does not answer in time is a 503', async (t) => {
  const { url } = await provider(t, () => undefined); // never answers
  const sms = httpSmsProvider(url, 'sms-token-for-tests', 300, pkiFile('ca.crt'));
  t.teardown(() => sms.close());
  t.match((await refusal(t, sms.send(message))).message, /could not be reached/);
});

t.test('SP-5.1: a certificate the gateway does not trust gets no message', async (t) => {
  const { url, received } = await provider(t, (res) => res.writeHead(202).end());
  const sms = httpSmsProvider(url, 'sms-token-for-tests', 2000); // public CAs only: the dev CA is unknown
  t.teardown(() => sms.close());
  await refusal(t, sms.send(message));
  t.equal(received.length, 0, 'nothing was sent to the unverified server');
});
