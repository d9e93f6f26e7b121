// Group commit: writes that arrive while earlier ones are on their way to PostgreSQL share one
// statement. On this kind of machine a statement's socket round trip and commit cost more CPU than
// the rows it carries, so under load one statement for N writes is far cheaper than N statements,
// and a lone write still goes out on the next turn of the event loop (no timer, no added wait).
// A batch is one statement, hence all-or-nothing: every write of a failed batch sees its error,
// and none of them was stored.

export interface GroupCommitOptions {
  /** Batches on their way at once; more arrivals wait and join the next batch. */
  maxInFlight: number;
  /** Writes per statement at most. */
  maxBatch: number;
}

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Returns `submit(item)`, which resolves once the batch carrying `item` is committed. */
export function groupCommit<T>(write: (items: T[]) => Promise<void>, options: GroupCommitOptions): (item: T) => Promise<void> {
  let waiting: Waiting<T>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const send = (batch: Waiting<T>[]) => {
    inFlight++;
    // A write that throws synchronously must fail its batch, not the caller that triggered the flush.
    Promise.resolve().then(() => write(batch.map((w) => w.item))).then(
      () => { for (const w of batch) w.resolve(); },
      (err: unknown) => { for (const w of batch) w.reject(err); },
    ).finally(() => {
      inFlight--;
      flush();
    });
  };

  function flush(): void {
    while (inFlight < options.maxInFlight && waiting.length > 0) {
      const batch = waiting.length <= options.maxBatch ? waiting : waiting.slice(0, options.maxBatch);
      waiting = batch === waiting ? [] : waiting.slice(options.maxBatch);
      send(batch);
    }
  }

  return (item) => new Promise<void>((resolve, reject) => {
    waiting.push({ item, resolve, reject });
    // Requests whose bytes arrived in the same event-loop turn are handled before setImmediate
    // fires, so they leave together; a full pipeline flushes itself when a batch completes.
    if (!scheduled && inFlight < options.maxInFlight) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        flush();
      });
    }
  });
}
