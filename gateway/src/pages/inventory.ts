// The inventory of the pages' scripts and styles (PCI DSS 6.4.3): each one's name, served file,
// SRI hash and why it is there, committed as gateway/web/inventory.json. The build script
// (scripts/build-pages.ts) refuses a build that differs from it, the gateway refuses to start on
// one, and a test checks both, so no script reaches a payment page without a reviewed change.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WEB_DIR, type PageAssets } from './build.js';

export const INVENTORY_FILE = join(WEB_DIR, 'inventory.json');

export interface InventoryEntry { name: string; file: string; integrity: string; purpose: string }
export interface Inventory { scripts: InventoryEntry[]; styles: InventoryEntry[] }

const PURPOSE = {
  'app.js': 'the bank pages and hosted checkout: draws each step from the public API (same origin, no third party)',
  'styles.css': 'the pages\' layout and focus styles',
};

export function inventoryOf(assets: PageAssets): Inventory {
  const entry = (a: PageAssets['script']): InventoryEntry => ({ name: a.logical, file: a.file, integrity: a.integrity, purpose: PURPOSE[a.logical as keyof typeof PURPOSE] });
  return { scripts: [entry(assets.script)], styles: [entry(assets.style)] };
}

export async function readInventory(): Promise<Inventory> {
  return JSON.parse(await readFile(INVENTORY_FILE, 'utf8')) as Inventory;
}

export async function writeInventory(inventory: Inventory): Promise<void> {
  await writeFile(INVENTORY_FILE, `${JSON.stringify(inventory, null, 2)}\n`);
}

/** What differs between the committed inventory and a build, one line each; empty when they match. */
export function inventoryDifferences(committed: Inventory, built: Inventory): string[] {
  const lines: string[] = [];
  for (const kind of ['scripts', 'styles'] as const) {
    const want = new Map(committed[kind].map((e) => [e.name, e]));
    const got = new Map(built[kind].map((e) => [e.name, e]));
    for (const [name, e] of got) {
      const c = want.get(name);
      if (!c) lines.push(`${kind}: ${name} is not in the inventory`);
      else if (c.integrity !== e.integrity || c.file !== e.file) lines.push(`${kind}: ${name} is ${e.integrity}, the inventory says ${c.integrity}`);
    }
    for (const name of want.keys()) if (!got.has(name)) lines.push(`${kind}: ${name} is in the inventory but not built`);
  }
  return lines;
}

/** The build, checked against the inventory: throws naming every difference. */
export async function verifiedAssets(assets: PageAssets): Promise<PageAssets> {
  const differences = inventoryDifferences(await readInventory(), inventoryOf(assets));
  if (differences.length > 0) throw new Error(`the page build differs from gateway/web/inventory.json (run npm run build:pages -- --update after review): ${differences.join('; ')}`);
  return assets;
}
