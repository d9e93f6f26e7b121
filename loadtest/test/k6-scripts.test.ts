// Every k6 script in loadtest/ runs, unchanged, under the k6 API harness against the real
// processes for a few seconds at a low rate: a wrong route, field, metric or threshold name, or a
// flow that stopped working, fails here. The figures are the harness's and are not asserted.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lib/paths.js';
import { runScript } from '../harness/run.js';
import { startLoadTarget } from './support.js';

const target = await startLoadTarget(t);
// Small everything: two VUs per scenario, two clients, three seconds.
const smoke = { RATE: '2', ATTACK_RATE: '4', DURATION: '3s', RAMP: '1s', VUS: '1', MAX_VUS: '2', CLIENTS: '2' };
const scripts = readdirSync(join(repoRoot, 'loadtest')).filter((f) => f.endsWith('.js')).sort();

t.test('the harness finds every script', async (t) => {
  t.same(scripts, ['checkout-session.js', 'first-payment.js', 'login.js', 'mix.js', 'registration.js', 'repeat-payment.js']);
});

for (const script of scripts) {
  t.test(`${script} runs under the harness: correctness thresholds pass, no iteration fails`, async (t) => {
    let printed = '';
    const run = await runScript(join(repoRoot, 'loadtest', script), { env: { ...target.env, ...smoke }, maxVusPerScenario: 2, write: (s) => { printed += s; } });
    t.same(run.errors, [], 'no iteration threw');
    // Latency thresholds are evaluated (a wrong metric name would stop the run) but not required to
    // pass here: a few seconds on a shared test machine say nothing about the gateway's latency.
    t.ok(run.thresholds.every((v) => Number.isFinite(v.value)), 'every threshold had samples');
    t.same(run.thresholds.filter((v) => !v.ok && !/_duration\b/.test(v.metric)), [], 'every correctness threshold passed (checks, error rates)');
    t.ok(run.thresholds.length >= 3, 'the script has thresholds');
    t.ok(run.iterations > 0, `${run.iterations} iterations ran`);
    t.match(printed, /k6 API harness .* not by k6/, 'the summary is labelled as the harness\'s');
  });
}

t.test('the harness fails what k6 would fail', async (t) => {
  const quiet = { env: { ...target.env, RATE: '2', DURATION: '1s' }, write: () => undefined };
  const wrongRoute = await runScript(join(repoRoot, 'loadtest/test/fixtures/wrong-route.js'), quiet);
  t.same(wrongRoute.thresholds.filter((v) => !v.ok).map((v) => v.metric).sort(), ['checks{scenario:wrong}', 'http_req_failed{scenario:wrong}'], 'a wrong route fails the check and error-rate thresholds');
  t.equal(wrongRoute.ok, false);
  await t.rejects(runScript(join(repoRoot, 'loadtest/test/fixtures/wrong-threshold.js'), quiet), /no metric name "payments_completed"/, 'a threshold on an unknown metric stops the run');
});
