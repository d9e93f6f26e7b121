// Keeps every Buffer made while a piece of vault code runs, so an SP-16 test can check, once the
// code is done, that those which held card data were zeroed. It watches the Buffer factories and
// the ciphers' output (allocated by Node itself). Out of its sight, and out of the vault's reach
// to zero as well: Buffers Node makes internally (socket reads, TLS records) and JavaScript
// strings, which are immutable and linger until collected.
import { createCipheriv, createDecipheriv } from 'node:crypto';

type Method = (...args: unknown[]) => unknown;

const FACTORIES = ['from', 'alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'] as const;
const key = Buffer.alloc(32);
const iv = Buffer.alloc(12);
const CIPHER_PROTOTYPES = [
  Object.getPrototypeOf(createCipheriv('aes-256-gcm', key, iv)) as Record<string, Method>,
  Object.getPrototypeOf(createDecipheriv('aes-256-gcm', key, iv)) as Record<string, Method>,
];

export class BufferTracker {
  readonly #made = new Set<Buffer>();

  /** Runs `work`, keeping every Buffer made meanwhile (by anything in this process). */
  async during<T>(work: () => Promise<T> | T): Promise<T> {
    const restore: Array<() => void> = [];
    const watch = (owner: Record<string, Method>, name: string) => {
      const original = owner[name]!;
      const made = this.#made;
      owner[name] = function watched(this: unknown, ...args: unknown[]) {
        const result = original.apply(this, args);
        if (Buffer.isBuffer(result)) made.add(result);
        return result;
      };
      restore.push(() => { owner[name] = original; });
    };
    for (const name of FACTORIES) watch(Buffer as unknown as Record<string, Method>, name);
    for (const proto of CIPHER_PROTOTYPES) for (const name of ['update', 'final']) watch(proto, name);
    try {
      return await work();
    } finally {
      for (const undo of restore.reverse()) undo();
    }
  }

  /** The kept Buffers that still contain `bytes` somewhere. */
  holding(bytes: string | Buffer): Buffer[] {
    return [...this.#made].filter((b) => b.includes(bytes));
  }

  /** The kept Buffers that are exactly `bytes` (for short values, which random bytes may contain by chance). */
  equalTo(bytes: string | Buffer): Buffer[] {
    const wanted = Buffer.from(bytes);
    return [...this.#made].filter((b) => b.equals(wanted));
  }
}

/** All zero, and not empty: an empty Buffer never held the secret it is asked about. */
export const isZero = (b: Buffer) => b.length > 0 && b.every((byte) => byte === 0);
