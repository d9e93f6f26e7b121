// BullMQ hands the worker one job at a time (up to `concurrency` at once); the chain wants a
// few hundred rows per transaction. Each job's processor submits its events here and waits:
// while one batch commits the next one fills and is read and checked (prepare), so batches grow
// with load, the JSON work overlaps PostgreSQL's, and a lone event waits for no timer.
import type { EventRef, PreparedBatch, StoreOutcome } from './store.js';

export interface BatchStore {
  prepare(refs: EventRef[]): Promise<PreparedBatch>;
  commit(batch: PreparedBatch): Promise<StoreOutcome[]>;
}

interface Pending {
  ref: EventRef;
  resolve(outcome: StoreOutcome): void;
  reject(err: unknown): void;
}

export class Batcher {
  #queue: Pending[] = [];
  #running = false;
  constructor(private readonly store: BatchStore, private readonly maxBatch: number) {}

  /** A job's events, queued together so that they share a transaction when they can. */
  submit(refs: readonly EventRef[]): Promise<StoreOutcome[]> {
    const outcomes = refs.map((ref) => new Promise<StoreOutcome>((resolve, reject) => { this.#queue.push({ ref, resolve, reject }); }));
    if (!this.#running) void this.#drain();
    return Promise.all(outcomes);
  }

  /** The next batch, its preparation started; a failed preparation is held as a value, not left unhandled. */
  #take(): { batch: Pending[]; prepared: Promise<PreparedBatch | { failed: unknown }> } | undefined {
    if (this.#queue.length === 0) return undefined;
    const batch = this.#queue.splice(0, this.maxBatch);
    return { batch, prepared: this.store.prepare(batch.map((p) => p.ref)).catch((failed: unknown) => ({ failed })) };
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      for (let next = this.#take(); next;) {
        const { batch, prepared } = next;
        const ready = await prepared;
        // The following batch is read and checked while this one commits.
        next = this.#take();
        try {
          if ('failed' in ready) throw ready.failed;
          const outcomes = await this.store.commit(ready);
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        } catch (err) {
          // Nothing of the batch was stored: every job fails this attempt and is retried by BullMQ.
          for (const p of batch) p.reject(err);
        }
        next ??= this.#take();
      }
    } finally {
      this.#running = false;
    }
  }
}
