// `npm run audit:rotate-signing-key` — audit signing key rotation (SP-21, PCI DSS 3.6.1, 3.7.4;
// vault/README.md "Audit signing key rotation"). Generates a new Ed25519 key, adds its public key to
// the trusted set (AUDIT_PUBLIC_KEY_FILE, which keeps the old one: records signed by it still
// verify) and replaces the private key (AUDIT_SIGNING_KEY_FILE, the old one overwritten: it can sign
// nothing more). Restart the audit-worker(s) and publish the new public key file to investigators.
// Each signature names its key by id (the first 16 hex of SHA-256 over the public key).
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadOrExit } from '../lib/config.js';
import { keyIdOf } from '../lib/audit/chain.js';
import { loadAuditToolConfig } from '../audit-worker/src/config.js';

const config = loadOrExit(() => loadAuditToolConfig(process.env));

function replace(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

let code = 1;
try {
  const current = keyIdOf(createPublicKey(readFileSync(config.signingKeyFile)));
  if (!config.trustedKeys.has(current)) {
    throw new Error(`the current signing key ${current} is not in AUDIT_PUBLIC_KEY_FILE: its records could not be verified after the rotation`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const published = readFileSync(config.publicKeyFile, 'utf8');
  replace(config.publicKeyFile, `${published.trimEnd()}\n${publicKey.export({ type: 'spki', format: 'pem' }) as string}`, 0o644);
  replace(config.signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  process.stdout.write(`audit signing key rotated: ${current} → ${keyIdOf(publicKey)}; ${config.trustedKeys.size + 1} key(s) trusted in ${config.publicKeyFile}\n`);
  process.stdout.write('restart every audit-worker and publish the public key file to investigators\n');
  code = 0;
} catch (err) {
  process.stderr.write(`audit:rotate-signing-key failed: ${(err as Error).message}\n`);
}
process.exit(code);
