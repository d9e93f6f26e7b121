// The browser tests' world: the real vault and gateway processes (test/support), the gateway's
// SMS outbox read as a phone would, and Debian's chromium driven by playwright-core with no
// background networking. Every page a test opens is checked as it loads: a request for another
// origin is aborted and recorded (the test then fails), so "nothing leaves for another origin"
// holds for every step, not only the ones a test happens to look at. The gateway runs its webhook
// dispatcher and names its own origin (PUBLIC_URL), so a merchant's shop can send customers to its
// hosted checkout and hear how they ended (shop.ts).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../../lib/paths.js';
import { Agent, request } from 'undici';
import type { Kysely } from 'kysely';
import type { AdminClient } from '../../test/support/admin.js';
import { runtimeDb, RUNTIME_ROLES } from '../../test/support/database.js';
import { pkiFile, testPkiDir } from '../../test/support/pki.js';
import { startGatewayProcess } from '../../test/support/gateway.js';
import { freePort } from '../../test/support/net.js';
import { startVaultProcess } from '../../test/support/vault.js';

interface Teardown { teardown(fn: () => unknown): void }

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots, kept as artefacts (git-ignored). */
export const ARTEFACTS = join(repoRoot, 'artefacts', 'browser');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export interface BrowserWorld {
  origin: string;
  browser: Browser;
  /** A fresh browser profile (no cookies) at `viewport`, in `language` (Accept-Language). */
  context(language?: string, viewport?: { width: number; height: number }): Promise<BrowserContext>;
  /** A merchant shop's origin the customer goes to and comes back from: not "another origin". */
  allowOrigin(origin: string): void;
  /** Requests the pages made to any other origin (must stay empty). */
  foreignRequests: string[];
  /** Uncaught errors in the pages' script (must stay empty). */
  pageErrors: string[];
  /** The code in the newest SMS sent to `phone`, and that SMS's text. */
  sms(phone: string): Promise<{ code: string; text: string }>;
  /** The gateway's staff listener (mutual TLS, the test PKI's admin certificate). */
  staff: AdminClient;
  /** The vault's database, as the vault's role: for a test that plants a state the API cannot make. */
  vaultDb: Kysely<any>;
}

export async function browserWorld(t: Teardown): Promise<BrowserWorld> {
  const scratch = mkdtempSync(join(tmpdir(), 'pgw-browser-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(ARTEFACTS, { recursive: true });
  const outbox = join(scratch, 'sms-outbox.jsonl');
  const vault = await startVaultProcess(t);
  // A fixed port, so the gateway knows the origin its checkout sessions' URLs name.
  const publicPort = await freePort();
  const gateway = await startGatewayProcess(t, {
    VAULT_URL: `https://127.0.0.1:${String(vault.ready.port)}`,
    GATEWAY_PORT: String(publicPort),
    PUBLIC_URL: `https://localhost:${String(publicPort)}`,
    WEBHOOKS_ENABLED: 'true',
    WEBHOOK_RELAY_INTERVAL_MS: '50',
    // The shop listens on https://localhost under the test CA: exempt from the public-address rule
    // (tests only; production refuses the setting) and trusted as the gateway's own CA.
    WEBHOOK_ALLOWED_HOSTS: 'localhost',
    NODE_EXTRA_CA_CERTS: join(testPkiDir(), 'ca.crt'),
    THREE_DS_SANDBOX_PAGES: 'true',
    SMS_OUTBOX_FILE: outbox,
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    OTP_MAX_PER_PHONE_HOUR: '100',
    VERIFICATION_RATE_LIMIT_PER_MINUTE: '10000',
    LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
    RATE_LIMIT_MAX: '100000',
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_TIME_COST: '1',
  });
  const origin = `https://localhost:${String(publicPort)}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const foreignRequests: string[] = [];
  const ownOrigins = new Set([origin]);
  const pageErrors: string[] = [];
  const staffAgent = new Agent({ connect: { ca: pkiFile('ca.crt'), cert: pkiFile('admin.crt'), key: pkiFile('admin.key'), servername: 'localhost' } });
  t.teardown(() => staffAgent.close());
  const staffUrl = `https://127.0.0.1:${String(gateway.ready.adminPort)}`;
  return {
    origin,
    browser,
    foreignRequests,
    pageErrors,
    allowOrigin(other) { ownOrigins.add(other); },
    async context(language = 'kk', viewport = PHONE) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: language, extraHTTPHeaders: { 'accept-language': language }, viewport });
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (ownOrigins.has(new URL(url).origin)) return route.continue();
        foreignRequests.push(url);
        return route.abort('blockedbyclient');
      });
      context.on('weberror', (e) => pageErrors.push(e.error().message));
      return context;
    },
    staff: {
      url: staffUrl,
      async call(method, path, body) {
        const res = await request(`${staffUrl}${path}`, {
          method, dispatcher: staffAgent, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
      },
    },
    vaultDb: runtimeDb(t, vault.databaseUrl, RUNTIME_ROLES.vault),
    async sms(phone: string) {
      const lines = (await readFile(outbox, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { to: string; text: string });
      const last = lines.filter((m) => m.to === phone).pop();
      if (!last) throw new Error(`no SMS was sent to ${phone}`);
      const codes = last.text.match(/\d{6,}/g) ?? [];
      if (codes.length !== 1) throw new Error(`the SMS does not hold exactly one 6-digit number: ${last.text}`);
      return { code: codes[0]!, text: last.text };
    },
  };
}

/** Axe-core (from node_modules, injected as a script the page did not ask for) on the page as it is now. */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string | null; nodes: string[] }>> {
  const source = await readFile(join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // The page's CSP allows no inline code; evaluate() runs in the page through the DevTools protocol.
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });
}
