// Password hashing (SP-7): argon2id via @node-rs/argon2 in dedicated worker threads that run at a
// lower CPU priority (PASSWORD_HASH_NICE), so a login flood cannot slow the event loop serving
// other routes. A semaphore caps concurrent hashes (one per worker); when its queue is full the
// request gets 503 instead of waiting forever. Parameters live in each PHC string, so raising
// them later re-hashes on the next successful login (needsRehash).
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { parseOptions, type Algorithm, type Options } from '@node-rs/argon2';
import { DomainError } from '../errors.js';
import type { IdentityConfig } from './identity.config.js';

// The package's Algorithm is an ambient const enum (empty at run time); argon2id is 2.
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
  /** Burns the same work as a verify, for unknown phones (no timing oracle). */
  verifyDummy(password: string): Promise<false>;
  /**
   * Computes the hash verifyDummy checks against; the gateway awaits it before listening. A
   * failure is never kept: the next call computes again (a cached failure made every unknown
   * phone answer 503 while known phones answered 401, which tells them apart).
   */
  prepare(): Promise<void>;
  needsRehash(phc: string): boolean;
}

type Job = { op: 'hash'; password: string; options: Options } | { op: 'verify'; phc: string; password: string };

class Semaphore {
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly limit: number, readonly queue: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) {
      if (this.#waiting.length >= this.queue) {
        throw new DomainError('service_unavailable', 'too many password checks in progress; retry shortly', { 'retry-after': '1' });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // hand the slot over without releasing it
      else this.#active--;
    }
  }
}

/** One worker thread; referenced only while a job runs, so an idle pool never holds the process open. */
class HashWorker {
  #worker: Worker | undefined;
  #seq = 0;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  constructor(readonly nice: number) {}

  #spawn(): Worker {
    // Plain JavaScript: no inherited TypeScript loader (tsx, tap) to boot in the thread.
    const worker = new Worker(new URL('./passwords.worker.mjs', import.meta.url), { workerData: { nice: this.nice }, execArgv: [] });
    worker.unref();
    worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) worker.unref();
      if (m.error !== undefined) p?.reject(new Error(`password hashing failed: ${m.error}`));
      else p?.resolve(m.result);
    });
    const fail = (err: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`password worker exited (${code})`)));
    return worker;
  }

  run(job: Job): Promise<unknown> {
    const worker = (this.#worker ??= this.#spawn());
    const id = ++this.#seq;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...job });
    });
  }
}

export function createPasswordHasher(config: IdentityConfig['passwordHash']): PasswordHasher {
  const options: Options = {
    algorithm: ARGON2ID,
    memoryCost: config.memoryKib,
    timeCost: config.timeCost,
    parallelism: config.parallelism,
  };
  const gate = new Semaphore(config.concurrency, config.queue);
  const workers = Array.from({ length: config.concurrency }, () => new HashWorker(config.nice));
  const idle = [...workers];
  // The semaphore admits at most `concurrency` jobs, so an idle worker is always there.
  const run = (job: Job) => gate.run(async () => {
    const worker = idle.pop()!;
    try {
      return await worker.run(job);
    } finally {
      idle.push(worker);
    }
  });
  let dummy: string | undefined;
  let computing: Promise<string> | undefined; // shared by concurrent callers, dropped once settled
  const dummyHash = async (): Promise<string> => {
    if (dummy !== undefined) return dummy;
    computing ??= (run({ op: 'hash', password: randomBytes(24).toString('base64url'), options }) as Promise<string>)
      .finally(() => { computing = undefined; });
    dummy = await computing;
    return dummy;
  };
  return {
    hash: async (password) => (await run({ op: 'hash', password, options })) as string,
    verify: async (phc, password) => (await run({ op: 'verify', phc, password })) === true,
    async verifyDummy(password) {
      await run({ op: 'verify', phc: await dummyHash(), password });
      return false;
    },
    async prepare() {
      await dummyHash();
    },
    needsRehash(phc) {
      try {
        const p = parseOptions(phc);
        return p.algorithm !== ARGON2ID || p.memoryCost < config.memoryKib
          || p.timeCost < config.timeCost || p.parallelism < config.parallelism;
      } catch {
        return true;
      }
    },
  };
}
