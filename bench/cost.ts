// Where a bench phase's time goes, per event: CPU of each process (utime + stime from
// /proc/<pid>/stat: other load on the shared machine sways it far less than it sways a rate)
// and round trips to Redis and PostgreSQL. Only this bench's own Redis server and database are
// counted: the servers are shared.
import { cpus } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import { cpuSeconds } from './cpu.js';

const cpuMs = (pid: number) => cpuSeconds([pid]) * 1000;

interface Snapshot {
  cpu: Map<string, number>;
  pgBackends: Map<number, { app: string; ms: number }>;
  pgStatements: Map<string, number>;
  pgCommits: number;
  redisReads: number;
  redisCommands: Map<string, number>;
}

export interface CostProbe {
  /** Starts a measured phase. */
  start(): Promise<void>;
  /** One line: CPU-ms and round trips per event since start(); and the CPU-ms per event per process. */
  report(events: number): Promise<{ line: string; cpuMsPerEvent: Record<string, number> }>;
}

export function costProbe(opts: {
  db: Kysely<any>; database: string; countStatements: boolean; redis: () => Redis; pids: () => Record<string, number>;
}): CostProbe {
  const backends = async () => new Map((await sql<{ pid: number; app: string }>`
    select pid, application_name as app from pg_stat_activity where datname = ${opts.database}`.execute(opts.db)).rows
    .map((r) => [r.pid, { app: r.app, ms: cpuMs(r.pid) }]));
  // Per statement, since pg_stat_statements may evict an entry mid-phase (the server is shared):
  // an entry that restarted counts from zero.
  const pgCounters = async () => {
    const { rows } = opts.countStatements ? await sql<{ id: string; calls: number }>`
      select s.userid || ':' || s.queryid as id, s.calls::float8 as calls from pg_stat_statements s
      join pg_database d on d.oid = s.dbid where d.datname = ${opts.database}`.execute(opts.db) : { rows: [] };
    const commits = (await sql<{ n: number }>`select xact_commit::float8 as n from pg_stat_database where datname = ${opts.database}`.execute(opts.db)).rows[0]!.n;
    return { statements: new Map(rows.map((r) => [r.id, r.calls])), commits };
  };
  const redisStats = async () => {
    const info = await opts.redis().info('all');
    const reads = Number(/total_reads_processed:(\d+)/.exec(info)?.[1] ?? 0);
    const commands = new Map([...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    return { reads, commands };
  };
  const snapshot = async (): Promise<Snapshot> => {
    const [pgBackends, pg, redis] = await Promise.all([backends(), pgCounters(), redisStats()]);
    const cpu = new Map(Object.entries(opts.pids()).map(([name, pid]) => [name, cpuMs(pid)]));
    return { cpu, pgBackends, pgStatements: pg.statements, pgCommits: pg.commits, redisReads: redis.reads, redisCommands: redis.commands };
  };
  let first: Snapshot | undefined;
  return {
    async start() {
      first = await snapshot();
    },
    async report(events) {
      const last = await snapshot();
      const per = (n: number) => (n / events).toFixed(3);
      const spent = [...last.cpu].map(([name, ms]) => [name, ms - (first!.cpu.get(name) ?? 0)] as const);
      // A backend that connected during the phase counts from zero; one that left is missed.
      const pgCpu = new Map<string, number>();
      for (const [pid, { app, ms }] of last.pgBackends) pgCpu.set(app, (pgCpu.get(app) ?? 0) + ms - (first!.pgBackends.get(pid)?.ms ?? 0));
      const top = [...last.redisCommands].map(([cmd, calls]) => [cmd, calls - (first!.redisCommands.get(cmd) ?? 0)] as const)
        .filter(([, calls]) => calls / events >= 0.05).sort((a, b) => b[1] - a[1]).map(([cmd, calls]) => `${cmd} ${per(calls)}`);
      let statements = 0;
      for (const [id, calls] of last.pgStatements) {
        const before = first!.pgStatements.get(id) ?? 0;
        statements += calls >= before ? calls - before : calls;
      }
      spent.push(...[...pgCpu].filter(([, ms]) => ms > 0).map(([app, ms]) => [`postgres for ${app}`, ms] as const));
      // What the machine could do if nothing else ran on it: a figure that other load does not halve.
      const total = spent.reduce((sum, [, ms]) => sum + ms, 0);
      const ceiling = Math.round((cpus().length * 1000 * events) / total);
      const line = `CPU-ms/event: ${spent.map(([name, ms]) => `${name} ${per(ms)}`).join(', ')}; total ${per(total)}, `
        + `so at most ${ceiling} events/s on ${cpus().length} otherwise idle cores; round trips/event: redis ${per(last.redisReads - first!.redisReads)} (socket reads by the server), `
        + `postgres ${opts.countStatements ? per(statements) : 'n/a (no pg_stat_statements)'} statements in ${per(last.pgCommits - first!.pgCommits)} transactions; `
        + `redis commands/event (scripts' inner commands included): ${top.join(', ')}`;
      return { line, cpuMsPerEvent: Object.fromEntries(spent.map(([name, ms]) => [name, ms / events])) };
    },
  };
}
