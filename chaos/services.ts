// The processes a fault run kills and restarts: the real gateway, vault and audit-worker on
// fixed ports, so a restarted process is found where the others expect it.
import { startProcess, type Started } from '../test/support/processes.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
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
