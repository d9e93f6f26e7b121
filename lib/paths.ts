// Where development data lives. DATA_DIR is the one place a process or script may take it from.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function dataDir(env: Readonly<Record<string, string | undefined>>): string {
  return resolve(repoRoot, env.DATA_DIR || '.data');
}
