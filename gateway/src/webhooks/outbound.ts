// The HTTP agents webhook deliveries go out through: one per key mode and protocol, because the SSRF
// guard (ssrf-guard.ts) judges the address it connects to by both. No redirects are followed
// (deliver.ts), so the guarded connection is the only one a delivery makes.
import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, type Resolve, systemResolve } from './ssrf-guard.js';

export interface WebhookAgents {
  dispatcherFor(target: { livemode: boolean; protocol: string }): Dispatcher;
  close(): Promise<void>;
}

export function webhookAgents(opts: { allowedHosts: ReadonlySet<string>; timeoutMs: number; connections?: number }, resolve: Resolve = systemResolve): WebhookAgents {
  const agents = new Map<string, Agent>();
  for (const livemode of [false, true]) {
    for (const protocol of ['http:', 'https:']) {
      agents.set(`${livemode}${protocol}`, new Agent({
        connections: opts.connections ?? 8,
        connect: { timeout: opts.timeoutMs, lookup: guardedLookup({ livemode, allowedHosts: opts.allowedHosts }, protocol, resolve) as never },
      }));
    }
  }
  return {
    dispatcherFor: ({ livemode, protocol }) => {
      const agent = agents.get(`${livemode}${protocol}`);
      if (!agent) throw new Error(`no webhook agent for ${protocol}`);
      return agent;
    },
    close: async () => { await Promise.all([...agents.values()].map((a) => a.close())); },
  };
}
