// Development secrets under .data/keys (never in the repository). Production points the same
// settings at files provisioned by the bank's key management (deploy/README.md).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
}

/** Creates each missing development key; existing keys are never replaced. */
export function ensureDevSecrets(dataDir: string): string[] {
  const dir = join(dataDir, 'keys');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const ensure = (name: string, make: () => string) => {
    const path = join(dir, name);
    if (existsSync(path)) return;
    writeSecret(path, make());
    made.push(name);
  };
  ensure('otp-hmac.key', () => randomBytes(32).toString('base64'));
  ensure('vault-fingerprint.key', () => randomBytes(32).toString('base64'));
  ensure('webhook-secret.key', () => randomBytes(32).toString('base64'));
  ensure('vault-kek.json', () => JSON.stringify({ active: 1, keys: { '1': randomBytes(32).toString('base64') } }, null, 2));
  ensure('audit-signing.key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'audit-signing.pub'), publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644 });
    return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  });
  return made;
}
