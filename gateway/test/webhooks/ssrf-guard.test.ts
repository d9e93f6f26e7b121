// SSRF guard for webhook URLs (issue 15 item 4): judged by the RESOLVED address; hostile spellings of
// internal addresses refused; the connector is handed only the checked address (no DNS rebinding).
import t from 'tap';
import { checkWebhookUrl, guardedLookup, type Resolve, type UrlPolicy } from '../../src/webhooks/ssrf-guard.js';

// A fake resolver stands in for DNS (names below are ours, not real hosts).
const zone: Record<string, string[]> = {
  'internal.test': ['10.1.2.3'],
  'mixed.test': ['93.184.216.34', '192.168.0.1'],
  'public.test': ['93.184.216.34'],
  'metadata.test': ['169.254.169.254'],
  'ec2v6.test': ['fd00:ec2::254'],
  'mapped.test': ['::ffff:10.0.0.1'],
  'cgnat.test': ['100.64.0.1'],
};
const resolve: Resolve = async (host) => {
  const found = zone[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};
const live: UrlPolicy = { livemode: true, allowedHosts: new Set() };
const test: UrlPolicy = { livemode: false, allowedHosts: new Set() };

t.test('hostile URLs are refused for live and test keys', async (t) => {
  const hostile = [
    'https://127.0.0.1/hook', 'https://2130706433/hook', 'https://0x7f000001/hook', 'https://017700000001/hook',
    'https://[::1]/hook', 'https://[::ffff:127.0.0.1]/hook', 'https://[::ffff:7f00:1]/hook', 'https://10.0.0.1/',
    'https://172.16.5.4/', 'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data/', 'https://[fd00:ec2::254]/',
    'https://100.64.0.1/', 'https://224.0.0.1/', 'https://0.0.0.0/', 'https://[fe80::1]/', 'https://internal.test/',
    'https://mixed.test/', 'https://metadata.test/', 'https://ec2v6.test/', 'https://mapped.test/', 'https://cgnat.test/',
  ];
  for (const url of hostile) {
    t.equal(await checkWebhookUrl(url, live, resolve), 'forbidden_address', `live ${url}`);
    t.equal(await checkWebhookUrl(url, test, resolve), 'forbidden_address', `test ${url}`);
  }
});

t.test('scheme rules per key mode', async (t) => {
  t.equal(await checkWebhookUrl('https://public.test/hook', live, resolve), null);
  t.equal(await checkWebhookUrl('http://public.test/hook', live, resolve), 'https_required');
  t.equal(await checkWebhookUrl('http://127.0.0.1:3000/hook', live, resolve), 'https_required', 'live keys never http');
  t.equal(await checkWebhookUrl('http://127.0.0.1:3000/hook', test, resolve), null, 'test keys may use loopback http');
  t.equal(await checkWebhookUrl('http://2130706433:3000/hook', test, resolve), null, 'decimal loopback is loopback');
  t.equal(await checkWebhookUrl('http://public.test/hook', test, resolve), 'forbidden_address', 'test http only to loopback');
  t.equal(await checkWebhookUrl('http://10.0.0.1/hook', test, resolve), 'forbidden_address');
  t.equal(await checkWebhookUrl('ftp://public.test/', live, resolve), 'https_required');
  t.equal(await checkWebhookUrl('https://user:pw@public.test/', live, resolve), 'invalid_url');
  t.equal(await checkWebhookUrl('not a url', live, resolve), 'invalid_url');
  t.equal(await checkWebhookUrl('https://nowhere.test/', live, resolve), 'unresolvable_host');
});

t.test('the allow-list (WEBHOOK_ALLOWED_HOSTS) admits a named development host', async (t) => {
  const dev: UrlPolicy = { livemode: true, allowedHosts: new Set(['internal.test']) };
  t.equal(await checkWebhookUrl('https://internal.test/', dev, resolve), null);
  t.equal(await checkWebhookUrl('https://mixed.test/', dev, resolve), 'forbidden_address', 'only the named host');
});

t.test('the connector gets only the checked address, resolved once (DNS rebinding)', async (t) => {
  let calls = 0;
  const rebinding: Resolve = async () => (++calls === 1 ? ['93.184.216.34'] : ['127.0.0.1']);
  t.equal(await checkWebhookUrl('https://rebind.test/', live, rebinding), null, 'first answer public');
  const lookup = guardedLookup(live, 'https:', rebinding);
  const result = await new Promise<{ err: Error | null; address: unknown }>((done) =>
    lookup('rebind.test', {}, (err, address) => done({ err, address })));
  t.match(result.err, { code: 'WEBHOOK_FORBIDDEN_ADDRESS' }, 'second answer (loopback) refused at connect');
  const ok = await new Promise<{ err: Error | null; address: unknown }>((done) =>
    guardedLookup(live, 'https:', resolve)('public.test', {}, (err, address) => done({ err, address })));
  t.same(ok, { err: null, address: [{ address: '93.184.216.34', family: 4 }] });
});
