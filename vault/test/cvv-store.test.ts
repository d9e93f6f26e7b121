// SP-16: a CVV is held in memory only, for at most 15 minutes, handed out once, and zeroed when
// it expires, is replaced or the store is cleared.
import t from 'tap';
import { ManualClock, MINUTE } from '../../lib/clock.js';
import { CvvStore } from '../src/cvv-store.js';

t.test('SP-16: held once, taken once, the caller\'s buffer is copied', async (t) => {
  const store = new CvvStore(new ManualClock());
  const given = Buffer.from('123');
  t.ok(store.hold('tok_a', given));
  given.fill(0);
  t.equal(store.take('tok_a')?.toString(), '123', 'the store kept its own copy');
  t.equal(store.take('tok_a'), undefined, 'a CVV is handed out only once');
});

t.test('SP-16: gone after 15 minutes; sweep zeroes expired entries', async (t) => {
  const clock = new ManualClock();
  const store = new CvvStore(clock);
  store.hold('tok_a', Buffer.from('123'));
  store.hold('tok_b', Buffer.from('456'));
  clock.advance(15 * MINUTE - 1);
  t.equal(store.take('tok_a')?.toString(), '123', 'still there just before 15 minutes');
  clock.advance(1);
  t.equal(store.sweep(), 1);
  t.equal(store.size, 0);
  t.equal(store.take('tok_b'), undefined);
  store.hold('tok_c', Buffer.from('789'));
  clock.advance(15 * MINUTE);
  t.equal(store.take('tok_c'), undefined, 'an expired CVV is never handed out, swept or not');
});

t.test('SP-16: a sweep drops what has expired, in the order it was held, and nothing live', async (t) => {
  const clock = new ManualClock();
  const store = new CvvStore(clock);
  store.hold('tok_a', Buffer.from('111'));
  clock.advance(MINUTE);
  store.hold('tok_b', Buffer.from('222'));
  store.hold('tok_c', Buffer.from('333'));
  clock.advance(MINUTE);
  store.hold('tok_a', Buffer.from('444')); // replaced: now the newest
  clock.advance(14 * MINUTE);
  t.equal(store.sweep(), 2, 'tok_b and tok_c, held 15 minutes ago');
  t.equal(store.take('tok_a')?.toString(), '444', 'the replacement keeps its own 15 minutes');
  t.equal(store.sweep(), 0);
});

t.test('replacing and clearing; a full store refuses rather than grows', async (t) => {
  const store = new CvvStore(new ManualClock(), 2);
  t.ok(store.hold('tok_a', Buffer.from('111')));
  t.ok(store.hold('tok_a', Buffer.from('222')));
  t.equal(store.size, 1, 'a new CVV for the same token replaces the old');
  t.ok(store.hold('tok_b', Buffer.from('333')));
  t.notOk(store.hold('tok_c', Buffer.from('444')), 'full');
  const taken = store.take('tok_a')!;
  t.equal(taken.toString(), '222');
  store.clear();
  t.equal(store.size, 0);
});
