// `npm run scan:tls -- HOST:PORT [--no-headers]`: the testssl.sh scan `npm test` runs against the
// gateway (SP-1) and the vault (SP-4), against a running listener; prints every finding and exits 1
// on a HIGH, CRITICAL, WARN or FATAL one. `--no-headers` for a mutual-TLS listener (the vault, the
// staff listener): testssl cannot present a client certificate, so it gets no HTTP answer there.
import { BLOCKING, scanTls, testsslInstalled } from './testssl.js';

const args = process.argv.slice(2);
const headers = !args.includes('--no-headers');
const target = args.find((arg) => !arg.startsWith('--'));
if (!target) {
  console.error('usage: npm run scan:tls -- HOST:PORT [--no-headers]   (e.g. 127.0.0.1:8443)');
  process.exit(2);
}
if (!testsslInstalled()) {
  console.error('testssl is not installed: apt-get install testssl.sh');
  process.exit(2);
}
const findings = await scanTls(target, { headers });
for (const f of findings) console.log(`${f.severity.padEnd(8)} ${f.id.padEnd(24)} ${f.finding}`);
const blocking = findings.filter((f) => BLOCKING.has(f.severity));
console.log(blocking.length ? `${blocking.length} blocking finding(s)` : 'no blocking finding');
if (blocking.length) process.exitCode = 1;
