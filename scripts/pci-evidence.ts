// What docs/pci-dss.md cites: every backticked repository path, and among them the test files that
// are its evidence. The map's test checks the paths exist; `npm run scan` runs the tests.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.js';

export const PCI_MAP = join(repoRoot, 'docs', 'pci-dss.md');

// A path has a folder and a file name with an extension: `vault/src/cvv-store.ts`.
const PATH = /`([A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)+\.[a-z]+)`/g;

export function citedPaths(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(PATH)].map((m) => m[1]!))].sort();
}

export function citedTests(markdown: string): string[] {
  return citedPaths(markdown).filter((p) => p.endsWith('.test.ts'));
}

export function missingPaths(markdown: string, root = repoRoot): string[] {
  return citedPaths(markdown).filter((p) => !existsSync(join(root, p)));
}

export function readPciMap(): string {
  return readFileSync(PCI_MAP, 'utf8');
}
