// Password-hash worker thread (plain ESM so it loads without a TypeScript loader). It lowers its
// OWN thread's priority (Linux nice is per thread) so argon2id never outcompetes the event loop
// that serves every other route, then hashes or verifies one password at a time.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

try {
  setPriority(0, workerData.nice);
} catch {
  // Lowering priority is best effort (some platforms refuse it); hashing still works.
}

parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? hashSync(job.password, job.options) : verifySync(job.phc, job.password);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
