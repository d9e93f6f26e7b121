// Profiling aid, preloaded into a gateway or vault process (`--import ./bench/profile-hooks.ts`)
// by bench/profile-payments.ts (close-with-grace takes SIGUSR2 for a shutdown). A `{type:
// 'profile'}` IPC message starts a phase: the V8 CPU profiler runs and every SQL
// statement and Redis command the process sends is counted per text (the shared PostgreSQL here has no
// pg_stat_statements). The next one ends it and writes PROFILE_OUT.cpuprofile and
// PROFILE_OUT.statements.json, so set-up and warm-up stay out of the figures.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { Redis } from 'ioredis';

const out = process.env.PROFILE_OUT;
if (!out) throw new Error('profile-hooks needs PROFILE_OUT');
let counts: Map<string, number> | undefined;
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
  if (counts) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === 'string' ? first : first?.text ?? '?').replace(/\s+/g, ' ').slice(0, 200);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

// Redis commands too, by name (a script by its first key's last segment, to tell them apart).
const sendCommand = Redis.prototype.sendCommand as (...args: unknown[]) => unknown;
Redis.prototype.sendCommand = function countedCommand(this: Redis, ...args: unknown[]) {
  if (counts) {
    const command = args[0] as { name: string; args: unknown[] };
    const text = `redis ${command.name}${command.name.startsWith('eval') ? ` ${String(command.args[2] ?? '').replace(/^.*:/, '')}` : ''}`;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return sendCommand.apply(this, args);
} as typeof Redis.prototype.sendCommand;

const session = new Session();
session.connect();
process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'profile') return;
  void (async () => {
    if (!counts) {
      counts = new Map();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return;
    }
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));
    writeFileSync(`${out}.statements.json`, JSON.stringify(Object.fromEntries(counts)));
    counts = undefined;
  })();
});
