// RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits. Time-ordered ids keep audit and
// outbox indexes append-mostly. The random part comes from randomUUID(), which draws on Node's
// cached entropy pool instead of asking OpenSSL for 16 bytes on every id: a v4 UUID is already
// 122 random bits with the RFC variant, so only the time and version fields are rewritten.
import { randomUUID } from 'node:crypto';

export function uuidv7(at: Date = new Date()): string {
  const ms = at.getTime().toString(16).padStart(12, '0');
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
