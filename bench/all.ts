// `npm run bench` — every bench in one run, each scenario next to a baseline measured in this
// same run (bare Fastify HTTPS for the gateway's scenarios, bare mutual TLS for the vault's,
// BullMQ alone for the audit pipeline, the receiver alone for webhooks). Prints the table and
// writes bench/results.json and bench/results.svg. BENCH_SECONDS (default 10) sets each
// scenario's length: BENCH_SECONDS=3 gives a quick run. The audit bench's Redis outage phase runs
// only with BENCH_OUTAGE_S set.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.js';
import { assemble, formatTable, renderSvg, type BenchPart } from './results.js';
import { runPayments } from './payments.js';
import { runLogin } from './login.js';
import { runVault } from './vault.js';
import { runAudit } from './audit.js';
import { runWebhooks } from './webhooks.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const load = loadavg();
const parts: BenchPart[] = [];
for (const [name, bench] of [['payments', runPayments], ['login', runLogin], ['vault', runVault],
  ['audit', () => runAudit(Number(process.env.BENCH_OUTAGE_S ?? 0))], ['webhooks', runWebhooks]] as const) {
  process.stdout.write(`\n=== ${name} ===\n`);
  parts.push(await bench());
}
const results = assemble(parts, {
  date: new Date().toISOString(),
  host: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadavg: load, node: process.version },
  seconds,
});
writeFileSync(join(repoRoot, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(repoRoot, 'bench/results.svg'), renderSvg(results));
process.stdout.write(`\n=== all scenarios ===\n${formatTable(results)}\nwrote bench/results.json and bench/results.svg\n`);
process.exit(0);
