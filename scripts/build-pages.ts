// npm run build:pages: builds the pages and checks them against gateway/web/inventory.json
// (exit 1 naming each difference); `-- --update` rewrites the inventory after a reviewed change;
// `-- --out DIR` also writes the checked bundles into DIR (`npm run build` puts them in dist/).
import { resolve } from 'node:path';
import { buildPageAssets, writePrebuiltAssets } from '../gateway/src/pages/build.js';
import { inventoryDifferences, inventoryOf, readInventory, writeInventory } from '../gateway/src/pages/inventory.js';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : undefined;
if (outAt >= 0 && !out) {
  console.error('usage: build-pages [--update] [--out DIR]');
  process.exit(2);
}
const assets = await buildPageAssets();
const built = inventoryOf(assets);
if (args.includes('--update')) {
  await writeInventory(built);
  console.log('gateway/web/inventory.json updated');
} else {
  const differences = inventoryDifferences(await readInventory().catch(() => ({ scripts: [], styles: [] })), built);
  if (differences.length > 0) {
    for (const line of differences) console.error(line);
    process.exit(1);
  }
}
if (out) await writePrebuiltAssets(assets, resolve(out));
for (const a of [assets.script, assets.style]) console.log(`${a.file}  ${(a.body.length / 1024).toFixed(1)} KiB  ${a.integrity}`);
