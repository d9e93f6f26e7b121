// One virtual user of the harness: a worker thread that loads the k6 script as k6 does (its own
// module instance, init context first, with open(), __ENV, __VU, __ITER), then runs setup,
// iterations, teardown or handleSummary when the main thread asks.
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { ToVu } from './protocol.js';
import { post, vu } from './vu-context.js';

const { script, env, id } = workerData as { script: string; env: Record<string, string>; id: number };
register(new URL('./hooks.ts', import.meta.url).href, import.meta.url);

const globals = globalThis as Record<string, unknown>;
globals.__ENV = env;
globals.__VU = id;
globals.__ITER = 0;
// k6 resolves open()'s relative paths against the script's folder.
globals.open = (path: string, mode?: string) => {
  const data = readFileSync(resolve(dirname(script), path));
  return mode === 'b' ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data.toString('utf8');
};

const mod = await import(pathToFileURL(script).href) as Record<string, unknown>;
const fn = (name: string) => {
  const f = mod[name];
  if (typeof f !== 'function') throw new Error(`the script exports no function ${name}`);
  return f as (data?: unknown) => unknown;
};
post({
  type: 'ready',
  options: JSON.parse(JSON.stringify(mod.options ?? {})) as Record<string, unknown>,
  exports: Object.keys(mod).filter((k) => typeof mod[k] === 'function'),
});

parentPort!.on('message', (message: ToVu) => {
  try {
    if (message.type === 'setup') post({ type: 'done', result: typeof mod.setup === 'function' ? fn('setup')() : undefined });
    else if (message.type === 'teardown') post({ type: 'done', result: typeof mod.teardown === 'function' ? fn('teardown')(message.data) : undefined });
    else if (message.type === 'summary') post({ type: 'done', result: fn('handleSummary')(message.data) });
    else {
      vu.scenario = message.scenario;
      vu.group = '';
      try {
        fn(message.exec)(message.data);
      } finally {
        globals.__ITER = (globals.__ITER as number) + 1;
      }
      post({ type: 'done' });
    }
  } catch (err) {
    post({ type: 'done', error: err instanceof Error ? err.message : String(err) });
  }
});
