// npm run build:pages: builds the pages and checks them against gateway/web/inventory.json
// (exit 1 naming each difference); `-- --update` rewrites the inventory after a reviewed change.
import { buildPageAssets } from '../gateway/src/pages/build.js';
import { inventoryDifferences, inventoryOf, readInventory, writeInventory } from '../gateway/src/pages/inventory.js';

const assets = await buildPageAssets();
const built = inventoryOf(assets);
if (process.argv.includes('--update')) {
  await writeInventory(built);
  console.log('gateway/web/inventory.json updated');
} else {
  const differences = inventoryDifferences(await readInventory().catch(() => ({ scripts: [], styles: [] })), built);
  if (differences.length > 0) {
    for (const line of differences) console.error(line);
    process.exit(1);
  }
}
for (const a of [assets.script, assets.style]) console.log(`${a.file}  ${(a.body.length / 1024).toFixed(1)} KiB  ${a.integrity}`);
