// Runs a real process entry point (gateway, vault, audit-worker, npm start) the way production
// does, waits for its readiness message, and guarantees it is gone when the test ends.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../lib/paths.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Started {
  child: ChildProcess;
  ready: Record<string, unknown>;
  output(): string;
  /** Resolves once the output matches: a log line travels a pipe and can arrive after the HTTP answer it follows. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Where an entry lives and how it is run: the repository under tsx unless a test says otherwise. */
export interface EntryOptions {
  /** The package root holding `entry` (e.g. a production install of the build). */
  root?: string;
  /** Node's flags; `[]` runs compiled JavaScript with no loader, as production does. */
  execArgv?: string[];
}

/** Forks `entry` (relative to the repository) under tsx with only `env`, collecting its output. */
function forkEntry(entry: string, env: NodeJS.ProcessEnv, args: string[] = [], opts: EntryOptions = {}): { child: ChildProcess; output: () => string } {
  const child = fork(join(opts.root ?? repoRoot, entry), args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    execArgv: opts.execArgv ?? ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (d) => { output += d; });
  child.stderr?.on('data', (d) => { output += d; });
  return { child, output: () => output };
}

/** Starts `entry` (relative to the repository) with `env`; resolves when it signals ready. */
export async function startProcess(
  t: Teardown, entry: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000, opts: EntryOptions = {},
): Promise<Started> {
  const { child, output } = forkEntry(entry, env, [], opts);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const exited = exitOf(child);
    child.kill(signal);
    return exited;
  };
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) await stop('SIGKILL');
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready in ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') { clearTimeout(timer); resolve(m as Record<string, unknown>); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${entry} exited ${code}:\n${output()}`)); });
  });
  const waitForOutput = (pattern: RegExp, timeoutMs = 5000) => new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!pattern.test(output())) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      resolve();
    };
    const timer = setTimeout(() => {
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      reject(new Error(`${entry} printed nothing matching ${String(pattern)} in ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
  return { child, ready, output, waitForOutput, stop };
}

/** Runs `entry` to completion; resolves with its exit code and output. */
export function runToExit(
  entry: string, env: NodeJS.ProcessEnv, args: string[] = [], opts: EntryOptions = {},
): Promise<{ code: number | null; output: string }> {
  const { child, output } = forkEntry(entry, env, args, opts);
  return exitOf(child).then((code) => ({ code, output: output() }));
}
