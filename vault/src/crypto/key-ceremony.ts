// Split knowledge and dual control of a KEK (PCI DSS 3.6.1.2, 3.7.6): a key ceremony makes a KEK
// and hands each custodian one component, or assembles a KEK from components entered by at least
// two named custodians, and puts it straight into the key provider (the PKCS#11 token, where it
// becomes a sensitive, non-extractable object; the key file in development). No single custodian
// ever sees the whole key, and every Buffer that held key material is zeroed before returning.
//
// Components are k-of-n Shamir shares (the audited `shamir-secret-sharing`, GF(2^8)) or n-of-n XOR
// components. Each carries its own key check value: the classic KCV, AES-256-ECB of a zero block
// under the component's 32 key bytes, first 3 bytes in hex (for a Shamir share, the 32 bytes
// without its x-coordinate byte). A mistyped or corrupted component fails its KCV on entry; the
// assembled key's KCV is compared with the one the creation printed, and with the token's own.
import { randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { KEY_BYTES } from './encryption.js';
import { KeyError, keyCheckValue, type ManagedKeyProvider } from './key-provider.js';

export type Scheme = 'shamir' | 'xor';

/** One custodian's component: `kc1.<scheme>.<k>.<n>.<base64url bytes>.<KCV>`. */
export interface Component {
  scheme: Scheme;
  threshold: number;
  parts: number;
  bytes: Buffer;
  kcv: string;
}

/** A step of the ceremony, for the audit trail: custodians' names and check values, never key material. */
export interface CeremonyStep {
  step: 'create' | 'component_issued' | 'component_entered' | 'component_refused' | 'import' | 'import_refused';
  custodians: string[];
  keyVersion?: number;
  kcv?: string;
  reason?: string;
}

export type Audit = (step: CeremonyStep) => Promise<void>;

const CUSTODIAN = /^[A-Za-z][A-Za-z0-9._@-]{0,63}$/;

/** The KCV of a component: over its 32 key bytes (a Shamir share's trailing x-coordinate excluded). */
export const componentCheckValue = (bytes: Buffer): string => keyCheckValue(bytes.subarray(0, KEY_BYTES));

export function encodeComponent(c: Component): string {
  return ['kc1', c.scheme, c.threshold, c.parts, c.bytes.toString('base64url'), c.kcv].join('.');
}

/** Parses a component and checks its KCV; the error never repeats the text it was given. */
export function decodeComponent(text: string): Component {
  const fields = text.trim().split('.');
  const [tag, scheme, k, n, body, kcv] = fields;
  if (fields.length !== 6 || tag !== 'kc1' || (scheme !== 'shamir' && scheme !== 'xor')) throw new KeyError('not a key component (kc1.<scheme>.<k>.<n>.<bytes>.<kcv>)');
  const bytes = Buffer.from(body!, 'base64url');
  const expected = scheme === 'shamir' ? KEY_BYTES + 1 : KEY_BYTES;
  if (bytes.length !== expected) {
    bytes.fill(0);
    throw new KeyError(`a ${scheme} component holds ${expected} bytes`);
  }
  if (componentCheckValue(bytes) !== kcv) {
    bytes.fill(0);
    throw new KeyError(`the component does not match its check value ${kcv}: mistyped or corrupted`);
  }
  return { scheme, threshold: Number(k), parts: Number(n), bytes, kcv: kcv! };
}

function checkCustodians(names: string[]): void {
  for (const name of names) if (!CUSTODIAN.test(name)) throw new KeyError(`custodian name "${name.slice(0, 64)}" must match ${CUSTODIAN.source}`);
  if (new Set(names).size !== names.length) throw new KeyError('each custodian may hold or enter only one component');
}

export interface Issued {
  custodian: string;
  component: string;
  kcv: string;
}

/**
 * Makes a fresh KEK, splits it among `custodians` (k-of-n Shamir or n-of-n XOR), imports it into
 * `provider` as the next active version and zeroes it. Returns each custodian's component, to be
 * written to that custodian alone, and the KEK's KCV, which the token reports for the version too.
 */
export async function createKek(
  provider: ManagedKeyProvider, scheme: Scheme, threshold: number, custodians: string[], audit: Audit,
): Promise<{ version: number; kcv: string; issued: Issued[] }> {
  checkCustodians(custodians);
  const n = custodians.length;
  if (n < 2 || n > 255) throw new KeyError('a ceremony needs 2 to 255 custodians');
  if (scheme === 'xor' && threshold !== n) throw new KeyError('XOR components need all of them: threshold = number of custodians');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > n) throw new KeyError(`threshold must be 2..${n} (dual control)`);
  const key = randomBytes(KEY_BYTES);
  let parts: Buffer[] = [];
  try {
    parts = scheme === 'shamir' ? (await split(asBytes(key), n, threshold)).map(asBuffer) : xorSplit(key, n);
    const kcv = keyCheckValue(key);
    const version = provider.importVersion(key);
    if (provider.checkValue(version) !== kcv) throw new KeyError(`KEK version ${version} in ${provider.describe()} does not show the ceremony's check value`);
    await audit({ step: 'create', custodians, keyVersion: version, kcv });
    const issued = parts.map((bytes, i) => {
      const component = { scheme, threshold, parts: n, bytes, kcv: componentCheckValue(bytes) };
      return { custodian: custodians[i]!, component: encodeComponent(component), kcv: component.kcv };
    });
    for (const { custodian, kcv: componentKcv } of issued) await audit({ step: 'component_issued', custodians: [custodian], keyVersion: version, kcv: componentKcv });
    return { version, kcv, issued };
  } finally {
    key.fill(0);
    for (const p of parts) p.fill(0);
  }
}

// Views, not copies, so that zeroing one zeroes the other; the library takes plain Uint8Arrays only.
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.length);
const asBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

function xorSplit(key: Buffer, n: number): Buffer[] {
  const parts = Array.from({ length: n - 1 }, () => randomBytes(KEY_BYTES));
  const last = Buffer.from(key);
  for (const p of parts) for (let i = 0; i < KEY_BYTES; i++) last[i]! ^= p[i]!;
  return [...parts, last];
}

export interface Entry {
  custodian: string;
  component: string;
}

/**
 * Assembles a KEK from components entered by named custodians (at least two, each once, each
 * component passing its KCV, as many as the scheme's threshold), checks it against `expectedKcv`
 * when the creation's value is known, imports it into `provider` and zeroes every copy.
 */
export async function importKek(
  provider: ManagedKeyProvider, entries: Entry[], audit: Audit, expectedKcv?: string,
): Promise<{ version: number; kcv: string }> {
  const custodians = entries.map((e) => e.custodian);
  const refuse = async (reason: string): Promise<never> => {
    await audit({ step: 'import_refused', custodians, reason });
    throw new KeyError(reason);
  };
  try {
    checkCustodians(custodians);
  } catch (err) {
    return refuse((err as Error).message);
  }
  if (custodians.length < 2) return refuse('dual control: components must be entered by at least two named custodians');
  const components: Component[] = [];
  try {
    for (const { custodian, component } of entries) {
      try {
        components.push(decodeComponent(component));
      } catch (err) {
        await audit({ step: 'component_refused', custodians: [custodian], reason: (err as Error).message });
        return await refuse(`${custodian}'s component was refused: ${(err as Error).message}`);
      }
      await audit({ step: 'component_entered', custodians: [custodian], kcv: components.at(-1)!.kcv });
    }
    const [first] = components;
    if (components.some((c) => c.scheme !== first!.scheme || c.threshold !== first!.threshold || c.parts !== first!.parts)) {
      return await refuse('the components come from different ceremonies');
    }
    if (new Set(components.map((c) => c.kcv)).size !== components.length) return await refuse('the same component was entered twice');
    if (components.length < first!.threshold) {
      return await refuse(`${components.length} component(s) entered; this KEK needs ${first!.threshold} of ${first!.parts}`);
    }
    const key = first!.scheme === 'shamir' ? asBuffer(await combine(components.map((c) => asBytes(c.bytes)))) : xorCombine(components.map((c) => c.bytes));
    try {
      const kcv = keyCheckValue(key);
      if (expectedKcv && kcv !== expectedKcv.toUpperCase()) return await refuse(`the assembled KEK's check value ${kcv} is not ${expectedKcv.toUpperCase()}`);
      const version = provider.importVersion(key);
      if (provider.checkValue(version) !== kcv) return await refuse(`KEK version ${version} in ${provider.describe()} does not show the check value ${kcv}`);
      await audit({ step: 'import', custodians, keyVersion: version, kcv });
      return { version, kcv };
    } finally {
      key.fill(0);
    }
  } finally {
    for (const c of components) c.bytes.fill(0);
  }
}

function xorCombine(parts: Buffer[]): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  for (const p of parts) for (let i = 0; i < KEY_BYTES; i++) key[i]! ^= p[i]!;
  return key;
}

/** A component as the console shows it: its scheme and KCV, the key bytes masked. */
export const maskComponent = (text: string): string => text.replace(/^(kc1\.\w+\.\d+\.\d+\.)[A-Za-z0-9_-]+/, '$1****');
