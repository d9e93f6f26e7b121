// The pages' front-end build (issue 16): esbuild bundles gateway/web into one script and one
// style sheet, named by their content's SHA-256 so they can be cached for a year, each with its
// Subresource Integrity value. Deterministic: the same sources and esbuild give the same bytes,
// which is what lets the inventory (inventory.ts) pin them. `npm run build` bundles them once into
// the build (PREBUILT_DIR); the compiled gateway serves those files, so production neither installs
// esbuild nor transpiles at boot. Under tsx the sources are bundled when the pages are first built.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../../lib/paths.js';

// From the package root, so the compiled gateway in dist/ builds the same sources.
export const WEB_DIR = join(repoRoot, 'gateway', 'web') + sep;

/**
 * Beside the compiled module (dist/gateway/src/pages/assets/), where `npm run build` writes the
 * bundles under their stable names; never made in the source tree, so tsx always bundles afresh.
 */
export const PREBUILT_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

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

const KINDS = [
  { logical: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  { logical: 'styles.css', contentType: 'text/css; charset=utf-8' },
] as const;

export async function buildPageAssets(): Promise<PageAssets> {
  // A development tool: loaded only when the pages are bundled, never by a compiled gateway.
  const { build } = await import('esbuild');
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
    script: asset(KINDS[0].logical, KINDS[0].contentType, Buffer.from(js.contents)),
    style: asset(KINDS[1].logical, KINDS[1].contentType, Buffer.from(css.contents)),
  };
}

/** Writes the bundles into `dir` under their stable names (`npm run build` passes PREBUILT_DIR's place in dist/). */
export async function writePrebuiltAssets(assets: PageAssets, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([assets.script, assets.style].map((a) => writeFile(join(dir, a.logical), a.body)));
}

/** The bundles `npm run build` wrote, hashed again from their bytes (the inventory check then sees any change). */
async function readPrebuiltAssets(dir: string): Promise<PageAssets> {
  const [script, style] = await Promise.all(KINDS.map(async (k) => asset(k.logical, k.contentType, await readFile(join(dir, k.logical)))));
  return { script: script!, style: style! };
}

let built: Promise<PageAssets> | undefined;

/** One build per process: every gateway (and every test's) shares it. */
export function pageAssets(): Promise<PageAssets> {
  built ??= existsSync(PREBUILT_DIR) ? readPrebuiltAssets(PREBUILT_DIR) : buildPageAssets();
  return built;
}
