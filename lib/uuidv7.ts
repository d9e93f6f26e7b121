// RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits. Time-ordered ids keep audit and
// outbox indexes append-mostly.
import { randomUUID } from 'node:crypto';

export function uuidv7(at: Date = new Date()): string {
  // The random bits come from a v4 UUID: Node draws those from a pooled CSPRNG buffer, where a
  // randomBytes(16) per id costs an OpenSSL call each (the larger part of building an audit event).
  // Keeping its variant and last 74 random bits, and writing the time and version 7 over the rest,
  // gives exactly the v7 layout: unix_ts_ms(48) ver(4) rand_a(12) var(2) rand_b(62).
  const v4 = randomUUID();
  const ms = at.getTime().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${v4.slice(15)}`;
}
