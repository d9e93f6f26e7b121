// SP-16 / SP-17 (PCI DSS 3.3, 10.3): log redaction is the second line of defence.
import t from 'tap';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { createLogger } from '../../lib/logger.js';
import { Secret } from '../../lib/secret.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { lines, stream };
}

t.test('card data, codes, passwords, tokens and Authorization are redacted', async (t) => {
  const { lines, stream } = capture();
  const log = createLogger('test', 'info', stream);
  log.info({
    req: { headers: { authorization: 'Bearer tok-123456', cookie: 'sid=abc' } },
    card: { number: '4400430000000007', cvv: '123' },
    body: { pan: '4400430000000007', password: 'Secret-Pass1', code: '654321', verificationToken: 'vt-xyz' },
    token: 'tok-123456',
    outcome: 'kept',
  }, 'request');
  const out = lines.join('');
  for (const secret of ['4400430000000007', 'tok-123456', 'sid=abc', 'Secret-Pass1', '654321', 'vt-xyz', '"123"']) {
    t.notMatch(out, secret, `${secret} is redacted`);
  }
  t.match(out, /"outcome":"kept"/, 'ordinary fields stay');
  t.match(out, /\[REDACTED\]/);
});

t.test('SP-16: card data in a Buffer is logged as its length, at any depth, and the caller\'s object is untouched', async (t) => {
  const { lines, stream } = capture();
  const log = createLogger('test', 'info', stream);
  const pan = () => Buffer.from('4400430000000007');
  const nested = { outer: { inner: pan(), list: [pan(), 'kept'] }, other: { plain: 'kept' } };
  t.doesNotThrow(() => log.info({ bytes: pan(), view: new Uint8Array(pan()), raw: pan().buffer }, 'top level'));
  log.info(nested, 'nested');
  const out = lines.join('');
  for (const form of ['4400430000000007', '52,52,48,48', Buffer.from('4400430000000007').toString('base64')]) {
    t.notMatch(out, form, `no ${form} in the log`);
  }
  t.match(lines[0], /"bytes":"\[binary, 16 bytes\]"/);
  t.match(lines[1], /"inner":"\[binary, 16 bytes\]","list":\["\[binary, 16 bytes\]","kept"\]/);
  t.match(lines[1], /"other":\{"plain":"kept"\}/, 'the rest of the line is serialized, not given up on');
  t.ok(Buffer.isBuffer(nested.outer.inner), 'the logged object keeps its Buffer');
});

t.test('SP-16: a Buffer deep down, a bare Buffer and a cycle are all logged safely', async (t) => {
  const { lines, stream } = capture();
  const log = createLogger('test', 'info', stream);
  const pan = Buffer.from('4400430000000007');
  const cyclic: Record<string, unknown> = { deep: { a: { b: { c: { d: { e: pan } } } } } };
  cyclic.self = cyclic;
  log.info(cyclic, 'deep and cyclic');
  log.info(pan as unknown as object, 'bare');
  const out = lines.join('');
  t.notMatch(out, /4400430000000007|52,52,48,48/, 'no card bytes anywhere');
  t.match(lines[0], /"e":"\[binary, 16 bytes\]"/, 'six levels down');
  t.match(lines[1], /"binary":"\[binary, 16 bytes\]"/, 'a bare Buffer is one named field, not one per character');
});

t.test('Secret never prints its value', async (t) => {
  const s = new Secret('4400430000000007');
  t.equal(JSON.stringify({ s }), '{"s":"[REDACTED]"}');
  t.equal(String(s), '[REDACTED]');
  t.notMatch(inspect({ s }), '4400');
  t.equal(s.expose(), '4400430000000007');
});
