// `npm run scan:tls -- HOST:PORT`: the testssl.sh scan `npm test` runs against the gateway (SP-1),
// against a running listener; prints every finding and exits 1 on a HIGH, CRITICAL, WARN or
// FATAL one.
import { BLOCKING, scanTls, testsslInstalled } from './testssl.js';

const target = process.argv[2];
if (!target) {
  console.error('usage: npm run scan:tls -- HOST:PORT   (e.g. 127.0.0.1:8443)');
  process.exit(2);
}
if (!testsslInstalled()) {
  console.error('testssl is not installed: apt-get install testssl.sh');
  process.exit(2);
}
const findings = await scanTls(target);
for (const f of findings) console.log(`${f.severity.padEnd(8)} ${f.id.padEnd(24)} ${f.finding}`);
const blocking = findings.filter((f) => BLOCKING.has(f.severity));
console.log(blocking.length ? `${blocking.length} blocking finding(s)` : 'no blocking finding');
if (blocking.length) process.exitCode = 1;
