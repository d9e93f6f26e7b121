// The pieces a fault run kills and restarts: its own PostgreSQL cluster (audit-worker/test's
// ownPostgres), its own Redis with an append-only file (as production runs it: a restart keeps the
// queues), and the real gateway, vault and audit-worker processes on fixed ports, so a restarted
// process is found where the others expect it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../test/support/net.js';
import { startProcess, type Started } from '../test/support/processes.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface PersistentRedis {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function persistentRedis(t: Teardown): Promise<PersistentRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pgw-chaos-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        // Loading the append-only file answers LOADING until done.
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('redis-server did not start');
  };
  t.teardown(async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { url, kill, start };
}

/** A process that can be killed and started again with the same settings. */
export class Service {
  private current: Started | undefined;

  constructor(private readonly t: Teardown, readonly name: string, private readonly entry: string, private readonly env: NodeJS.ProcessEnv) {}

  get ready(): Record<string, unknown> {
    if (!this.current) throw new Error(`${this.name} is not running`);
    return this.current.ready;
  }

  async start(): Promise<void> {
    this.current = await startProcess(this.t, this.entry, this.env, 90_000);
  }

  async kill9(): Promise<void> {
    await this.current?.stop('SIGKILL');
    this.current = undefined;
  }

  output(): string {
    return this.current?.output() ?? '';
  }
}
