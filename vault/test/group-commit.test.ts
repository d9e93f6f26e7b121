// Group commit of tokenized cards: concurrent writes share a statement, a lone write is not held
// back, and a failed statement fails exactly the writes it carried (all-or-nothing per batch).
import t from 'tap';
import { groupCommit } from '../src/storage/group-commit.js';

/** A writer whose statements finish only when the test says so. */
function controlledWriter() {
  const batches: number[][] = [];
  const finish: Array<(err?: Error) => void> = [];
  const write = (items: number[]) => new Promise<void>((resolve, reject) => {
    batches.push(items);
    finish.push((err) => (err ? reject(err) : resolve()));
  });
  return { batches, finish, write };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test('a lone write goes out on the next turn of the event loop', async (t) => {
  const submit = groupCommit(async () => undefined, { maxInFlight: 1, maxBatch: 10 });
  await submit(1);
  t.pass('resolved without any other write');
});

t.test('writes arriving while the pipeline is full share the next statement', async (t) => {
  const w = controlledWriter();
  const submit = groupCommit(w.write, { maxInFlight: 1, maxBatch: 10 });
  const first = submit(1);
  await turn();
  const rest = [submit(2), submit(3), submit(4)];
  await turn();
  t.same(w.batches, [[1]], 'one statement in flight; the others wait');
  w.finish[0]!();
  await first;
  await turn();
  t.same(w.batches, [[1], [2, 3, 4]], 'the waiting writes leave together');
  w.finish[1]!();
  await Promise.all(rest);
});

t.test('writes of the same turn leave together; maxBatch and maxInFlight are respected', async (t) => {
  const w = controlledWriter();
  const submit = groupCommit(w.write, { maxInFlight: 2, maxBatch: 2 });
  const all = [1, 2, 3, 4, 5].map((i) => submit(i));
  await turn();
  t.same(w.batches, [[1, 2], [3, 4]]);
  w.finish[0]!();
  w.finish[1]!();
  await turn();
  await turn();
  t.same(w.batches, [[1, 2], [3, 4], [5]]);
  w.finish[2]!();
  await Promise.all(all);
});

t.test('a failed statement fails every write it carried, and only those', async (t) => {
  const w = controlledWriter();
  const submit = groupCommit(w.write, { maxInFlight: 1, maxBatch: 10 });
  const first = submit(1);
  await turn();
  const doomed = [submit(2), submit(3)];
  w.finish[0]!();
  await first;
  await turn();
  w.finish[1]!(new Error('statement failed'));
  for (const p of doomed) await t.rejects(p, /statement failed/);
  const after = submit(4);
  await turn();
  w.finish[2]!();
  await after;
  t.same(w.batches, [[1], [2, 3], [4]], 'the writer goes on after a failure');
});

t.test('a writer that throws synchronously rejects its batch', async (t) => {
  const submit = groupCommit<number>(() => { throw new Error('bad batch'); }, { maxInFlight: 1, maxBatch: 10 });
  await t.rejects(submit(1), /bad batch/);
});
