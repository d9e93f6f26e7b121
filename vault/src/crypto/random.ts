// Random bytes for tokens, data keys and IVs from a pooled CSPRNG buffer: one OpenSSL call per
// 4 KB instead of one per value (each call costs a syscall-priced trip on a busy VM; Node's own
// crypto.randomUUID pools the same way). Bytes handed out are copied and wiped from the pool.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function randomBytes(n: number): Buffer {
  if (n > 256) return randomFillSync(Buffer.alloc(n));
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
