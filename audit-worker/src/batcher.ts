// BullMQ hands the worker one job at a time (up to `concurrency` at once); the chain wants a
// few hundred rows per transaction. Each job's processor submits its events here and waits:
// while one batch commits the next one fills, so batches grow with load and a lone event
// waits for no timer.
import type { EventRef, StoreOutcome } from './store.js';

interface Pending {
  ref: EventRef;
  resolve(outcome: StoreOutcome): void;
  reject(err: unknown): void;
}

export class Batcher {
  #queue: Pending[] = [];
  #running = false;
  constructor(private readonly store: (refs: EventRef[]) => Promise<StoreOutcome[]>, private readonly maxBatch: number) {}

  /** A job's events, queued together so that they share a transaction when they can. */
  submit(refs: readonly EventRef[]): Promise<StoreOutcome[]> {
    const outcomes = refs.map((ref) => new Promise<StoreOutcome>((resolve, reject) => { this.#queue.push({ ref, resolve, reject }); }));
    if (!this.#running) void this.#drain();
    return Promise.all(outcomes);
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch);
        try {
          const outcomes = await this.store(batch.map((p) => p.ref));
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        } catch (err) {
          // Nothing of the batch was stored: every job fails this attempt and is retried by BullMQ.
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
