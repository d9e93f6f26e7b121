// The testssl.sh scans' shared frame: where testssl is missing the scan is skipped, except under CI,
// where .ci/run installs it and its absence is a failure; the findings are judged the same way for
// every listener.
import t, { type Test } from 'tap';
import { BLOCKING, SP1_EXPECTED, testsslInstalled, type Finding } from '../../scripts/testssl.js';

/** Registers `fn` as a subtest that scans a listener, with room for a scan of 50-110 s. */
export function scanTest(name: string, fn: (t: Test) => Promise<void>): void {
  // The suite's 180 s per file is too close to what one scan takes on a busy 2-core machine; a
  // runner that allows more (npm run scan: --timeout=900, TAP_TIMEOUT in seconds) keeps its own.
  t.setTimeout(Math.max(300_000, Number(process.env.TAP_TIMEOUT ?? 0) * 1000));
  const installed = testsslInstalled();
  if (!installed && process.env.CI) {
    t.fail('testssl is not on the PATH: .ci/run should have installed the testssl.sh package');
    return;
  }
  t.test(name, { skip: installed ? false : 'testssl is not installed (apt-get install testssl.sh)' }, fn);
}

/** No HIGH, CRITICAL, WARN or FATAL finding, and every SP-1 id as expected. */
export function assertSp1Findings(t: Test, findings: readonly Finding[]): Map<string, Finding> {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const blocking = findings.filter((f) => BLOCKING.has(f.severity)).map((f) => `${f.id} ${f.severity}: ${f.finding}`);
  t.same(blocking, [], 'no HIGH or CRITICAL finding, and no check that could not run');
  for (const [id, expected] of Object.entries(SP1_EXPECTED)) t.match(byId.get(id)?.finding, expected, id);
  return byId;
}
