// A SoftHSM2 token store of the test's own (a temp directory, removed at teardown), and tokens in
// it made with softhsm2-util, as an operator initializes an HSM partition. SoftHSM reads
// SOFTHSM2_CONF when this process first initializes the module, so call useSoftHsm once per test
// file before anything opens a token; child processes get it through the returned env.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SoftHsm {
  dir: string;
  /** SOFTHSM2_CONF, for child processes. */
  env: Record<string, string>;
  /** Initializes a token; returns the vault settings that open it (VAULT_KEY_PROVIDER=pkcs11 …). */
  createToken(label: string, pin?: string): Record<string, string>;
  /** A PIN file holding `pin`, for a wrong-PIN case. */
  pinFile(pin: string): string;
}

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_LIBRARY);
}

export function useSoftHsm(t: Teardown): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-softhsm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  let pins = 0;
  const pinFile = (pin: string) => {
    const path = join(dir, `pin-${++pins}`);
    writeFileSync(path, `${pin}\n`, { mode: 0o600 });
    return path;
  };
  return {
    dir,
    env: { SOFTHSM2_CONF: conf },
    pinFile,
    createToken(label, pin = `user-${label}-pin`) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${pin}`],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' });
      return {
        SOFTHSM2_CONF: conf,
        VAULT_KEY_PROVIDER: 'pkcs11',
        VAULT_PKCS11_LIBRARY: SOFTHSM_LIBRARY,
        VAULT_PKCS11_TOKEN_LABEL: label,
        VAULT_PKCS11_PIN_FILE: pinFile(pin),
        VAULT_PKCS11_KEY_LABEL: 'vault-kek',
      };
    },
  };
}
