// The pages' front-end build (issue 16): esbuild bundles gateway/web into one script and one
// style sheet, named by their content's SHA-256 so they can be cached for a year, each with its
// Subresource Integrity value. Deterministic: the same sources and esbuild give the same bytes,
// which is what lets the inventory (inventory.ts) pin them.
import { createHash } from 'node:crypto';
import { join, sep } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../../../lib/paths.js';

// From the package root, so the compiled gateway in dist/ builds the same sources.
export const WEB_DIR = join(repoRoot, 'gateway', 'web') + sep;

export interface PageAsset {
  /** Stable name the inventory lists (app.js, styles.css). */
  logical: string;
  /** Served name, content-hashed: app.<hash>.js. */
  file: string;
  contentType: string;
  body: Buffer;
  /** sha384 SRI value. */
  integrity: string;
}

export interface PageAssets { script: PageAsset; style: PageAsset }

function asset(logical: string, contentType: string, body: Buffer): PageAsset {
  const [stem, ext] = logical.split('.') as [string, string];
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 20);
  return { logical, file: `${stem}.${hash}.${ext}`, contentType, body, integrity: `sha384-${createHash('sha384').update(body).digest('base64')}` };
}

export async function buildPageAssets(): Promise<PageAssets> {
  const result = await build({
    absWorkingDir: WEB_DIR,
    entryPoints: ['app.ts', 'styles.css'],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    charset: 'utf8',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('the page build produced no script or style sheet');
  return {
    script: asset('app.js', 'text/javascript; charset=utf-8', Buffer.from(js.contents)),
    style: asset('styles.css', 'text/css; charset=utf-8', Buffer.from(css.contents)),
  };
}

let built: Promise<PageAssets> | undefined;

/** One build per process: every gateway (and every test's) shares it. */
export function pageAssets(): Promise<PageAssets> {
  built ??= buildPageAssets();
  return built;
}
