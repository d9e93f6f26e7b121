// Audit events, outbox rows and payments take their ids from uuidv7(): the ids must carry the
// time they name (the outbox relays in id order) and be unpredictable and unique.
import t from 'tap';
import { uuidv7 } from '../../lib/uuidv7.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('an id is an RFC 9562 version 7 UUID whose first 48 bits are the Unix milliseconds', async (t) => {
  const at = new Date('2026-11-30T19:30:00.123Z');
  const id = uuidv7(at);
  t.match(id, V7);
  t.equal(parseInt(id.replace('-', '').slice(0, 12), 16), at.getTime());
  t.equal(uuidv7(new Date(0)).slice(0, 13), '00000000-0000', 'a small time is zero-padded');
});

t.test('ids sort by time across milliseconds and never repeat', async (t) => {
  const base = Date.UTC(2026, 10, 24);
  const ids = Array.from({ length: 2000 }, (_, i) => uuidv7(new Date(base + Math.floor(i / 100))));
  t.equal(new Set(ids).size, ids.length);
  for (let i = 100; i < ids.length; i += 100) t.ok(ids[i - 1]! < ids[i]!, `ms ${i / 100} sorts after ms ${i / 100 - 1}`);
  const sameMs = ids.slice(0, 100);
  t.ok(new Set(sameMs.map((id) => id.slice(15))).size === 100, 'the random part differs within one millisecond');
});
