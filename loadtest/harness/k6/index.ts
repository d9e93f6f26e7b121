// k6 (the harness's subset): check, group, sleep, fail.
import { currentTags, declareMetric, sample, sleepSync, vu } from '../vu-context.js';
import type { Tags } from '../protocol.js';

declareMetric('checks', 'rate', false);

export function check<T>(value: T, sets: Record<string, (v: T) => unknown>, tags: Tags = {}): boolean {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    let ok: boolean;
    try {
      ok = Boolean(fn(value));
    } catch {
      ok = false;
    }
    sample('checks', ok ? 1 : 0, currentTags({ ...tags, check: name }));
    all &&= ok;
  }
  return all;
}

export function group<T>(name: string, fn: () => T): T {
  const outer = vu.group;
  vu.group = `${outer}::${name}`;
  try {
    return fn();
  } finally {
    vu.group = outer;
  }
}

export function sleep(seconds: number): void {
  sleepSync(seconds);
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail()');
}

export default { check, group, sleep, fail };
