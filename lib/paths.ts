// Where development data lives. DATA_DIR is the one place a process or script may take it from.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

// The package root is the nearest folder with package.json: lib/ under tsx, dist/lib/ once built
// (npm run build), so data files, deploy SQL and DATA_DIR resolve alike from either.
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const repoRoot = packageRoot(dirname(fileURLToPath(import.meta.url)));

export function dataDir(env: Readonly<Record<string, string | undefined>>): string {
  return resolve(repoRoot, env.DATA_DIR || '.data');
}
