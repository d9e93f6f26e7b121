// A development PKI and keys generated once per test process into a temporary folder, plus helpers to
// read its files. Tests that need odd certificates (expired, foreign CA) issue them with lib/pki.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevPki } from '../../lib/pki.js';
import { ensureDevSecrets } from '../../scripts/dev-secrets.js';

let dir: string | undefined;

export function testPkiDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'pgw-pki-'));
    generateDevPki(join(dir, 'pki'));
    ensureDevSecrets(dir);
    const made = dir;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return join(dir, 'pki');
}

/** The DATA_DIR whose pki/ and keys/ folders hold the test PKI and keys. */
export function testDataDir(): string {
  return join(testPkiDir(), '..');
}

export function pkiFile(name: string): Buffer {
  return readFileSync(join(testPkiDir(), name));
}
