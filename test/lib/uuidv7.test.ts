// UUIDv7 (RFC 9562) for audit events and vault rows: the layout the audit schema's pattern
// expects, the caller's millisecond in the first 48 bits, and fresh random bits in the rest.
import t from 'tap';
import { uuidv7 } from '../../lib/uuidv7.js';

t.test('version 7, RFC variant, the given millisecond first', async (t) => {
  const at = new Date('2026-11-24T08:00:00.123Z');
  const id = uuidv7(at);
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at.getTime());
  t.equal(uuidv7(new Date(0)).slice(0, 13), '00000000-0000', 'a small time is zero-padded');
});

t.test('ids of one millisecond differ; later milliseconds sort later', async (t) => {
  const at = new Date();
  const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(at)));
  t.equal(ids.size, 1000);
  t.ok(uuidv7(new Date(at.getTime() + 1)) > [...ids].sort().at(-1)!);
});
