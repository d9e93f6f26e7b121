// A PostgreSQL server of the test's own (the machine's PostgreSQL 15 binaries, a fresh cluster in
// a temporary directory, a free port), so a test may stop it the hard way and start it again.
// Run as the `postgres` user when the test runs as root (initdb refuses root).
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/net.js';

const run = promisify(execFile);
const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface OwnPostgres {
  /** The cluster's `postgres` database as its superuser, over TCP. */
  url: string;
  /** `pg_ctl stop -m immediate`: every backend killed, no checkpoint (crash recovery at start). */
  crash(): Promise<void>;
  start(): Promise<void>;
}

export async function ownPostgres(t: Teardown): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-own-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]) => asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]) : run(join(BIN, cmd), args);
  const port = await freePort();
  await as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const start = async () => { await as('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']); };
  const crash = async () => { await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); };
  t.teardown(async () => {
    await as('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, crash, start };
}
