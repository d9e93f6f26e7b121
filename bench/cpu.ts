// CPU time per operation, the figure a busy 2-core machine does not distort the way it distorts
// throughput: read from Linux /proc for the benchmarked processes and their PostgreSQL backends.
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** CPU seconds (user + system) the processes have used so far; a process that is gone counts 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited between listing and reading
    }
  }
  return ticks / 100;
}

/** Process ids of the PostgreSQL backends now connected to `database` (the services' pools). */
export async function backendPids(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}
