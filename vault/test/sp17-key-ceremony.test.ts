// SP-17 (PCI DSS 3.6.1.2, 3.7.6): split knowledge and dual control. `vault:key-ceremony create`
// makes a KEK in one SoftHSM token and splits it 3-of-5 among named custodians; `import` assembles
// it in a second token (a standby HSM) from 3 components entered by 3 custodians: same check
// value, and a data key wrapped in one token unwraps in the other. Two components, one custodian
// twice, or a corrupted component are refused; no component appears in the console or the audit.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runToExit } from '../../test/support/processes.js';
import { startTestVault } from '../../test/support/vault.js';
import { softHsmAvailable, SOFTHSM_LIBRARY, useSoftHsm } from '../../test/support/softhsm.js';
import { loadVaultConfig } from '../src/config.js';
import { createKeyProvider } from '../src/context.js';
import { createKek, importKek, type CeremonyStep } from '../src/crypto/key-ceremony.js';
import { FileKeyProvider, keyCheckValue } from '../src/crypto/key-provider.js';

if (!softHsmAvailable()) {
  t.comment(`SoftHSM2 is not installed (${SOFTHSM_LIBRARY}); .ci/run installs the softhsm2 package`);
  if (process.env.CI) t.fail('SoftHSM2 missing under CI');
  process.exit(0);
}

const hsm = useSoftHsm(t);
const PRIMARY = hsm.createToken('primary');
const STANDBY = hsm.createToken('standby');
const CEREMONY = 'scripts/vault-key-ceremony.ts';
const CUSTODIANS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const dir = mkdtempSync(join(tmpdir(), 'pgw-ceremony-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const vault = await startTestVault(t);
t.teardown(() => vault.stop());
const run = (token: Record<string, string>, args: string[]) => runToExit(CEREMONY, { ...vault.env, ...token, LOG_LEVEL: 'warn' }, args);
const component = (name: string) => readFileSync(join(dir, `${name}.component`), 'utf8').trim();
const body = (text: string) => text.split('.')[4]!;
const share = (name: string, file = join(dir, `${name}.component`)) => ['--share', `${name}=${file}`];
const outputs: string[] = [];

const created = await run(PRIMARY, ['create', '--custodians', CUSTODIANS.join(','), '--threshold', '3', '--out-dir', dir]);
outputs.push(created.output);
const kcv = /check value ([0-9A-F]{6})/.exec(created.output)?.[1];

t.test('SP-17 create 3-of-5: a file per custodian, the console shows components masked', async (t) => {
  t.equal(created.code, 0, created.output);
  t.ok(kcv, 'the KEK check value is printed');
  t.match(created.output, /KEK version 1 created in token "primary"/);
  for (const name of CUSTODIANS) {
    const text = component(name);
    t.match(text, /^kc1\.shamir\.3\.5\.[A-Za-z0-9_-]{44}\.[0-9A-F]{6}$/, `${name}'s component`);
    t.match(created.output, new RegExp(`${name}: kc1\\.shamir\\.3\\.5\\.\\*\\*\\*\\*\\.${text.split('.')[5]} \\(KCV`), `${name}'s is masked on the console`);
  }
  const primary = createKeyProvider(loadVaultConfig({ ...vault.env, ...PRIMARY }));
  t.equal(primary.checkValue(1), kcv, 'the token shows the ceremony\'s check value');
  primary.close();
});

t.test('SP-17 refused: two components, one custodian twice, a corrupted component', async (t) => {
  const two = await run(STANDBY, ['import', ...share('alice'), ...share('bob')]);
  outputs.push(two.output);
  t.not(two.code, 0);
  t.match(two.output, /2 component\(s\) entered; this KEK needs 3 of 5/);

  const twice = await run(STANDBY, ['import', ...share('alice'), ...share('bob'), ...share('alice', join(dir, 'carol.component'))]);
  outputs.push(twice.output);
  t.not(twice.code, 0);
  t.match(twice.output, /each custodian may hold or enter only one component/);

  const sameComponent = await run(STANDBY, ['import', ...share('alice'), ...share('bob'), ...share('carol', join(dir, 'alice.component'))]);
  outputs.push(sameComponent.output);
  t.not(sameComponent.code, 0);
  t.match(sameComponent.output, /the same component was entered twice/);

  const carol = component('carol');
  const b = body(carol);
  const corrupted = carol.replace(b, `${b.slice(0, 10)}${b[10] === 'A' ? 'B' : 'A'}${b.slice(11)}`);
  const corruptFile = join(dir, 'carol-corrupted');
  writeFileSync(corruptFile, corrupted);
  const bad = await run(STANDBY, ['import', ...share('alice'), ...share('bob'), ...share('carol', corruptFile)]);
  outputs.push(bad.output);
  t.not(bad.code, 0);
  t.match(bad.output, /carol's component was refused: the component does not match its check value/);

  const standby = createKeyProvider(loadVaultConfig({ ...vault.env, ...STANDBY }), { allowEmpty: true });
  t.same(standby.versions(), [], 'nothing reached the standby token');
  standby.close();
});

t.test('SP-17 import with 3 components by 3 custodians: same KCV, the key works in the standby token', async (t) => {
  const imported = await run(STANDBY, ['import', ...share('alice'), ...share('carol'), ...share('erin'), '--kcv', kcv!]);
  outputs.push(imported.output);
  t.equal(imported.code, 0, imported.output);
  t.match(imported.output, new RegExp(`KEK version 1 imported into token "standby"[^:]*: check value ${kcv}, entered by alice, carol, erin`));
  const primary = createKeyProvider(loadVaultConfig({ ...vault.env, ...PRIMARY }));
  const standby = createKeyProvider(loadVaultConfig({ ...vault.env, ...STANDBY }));
  t.equal(standby.checkValue(1), kcv);
  const dataKey = randomBytes(32);
  const context = Buffer.from('card-ceremony');
  const wrapped = await primary.wrap(dataKey, context);
  t.same(await standby.unwrap(wrapped, context), dataKey, 'wrapped in the primary token, unwrapped in the standby');
  const back = await standby.wrap(dataKey, context);
  t.same(await primary.unwrap(back, context), dataKey, 'and the other way');
  primary.close();
  standby.close();
});

t.test('SP-17 every step audited with custodians, no key material in console or audit', async (t) => {
  const events = (await vault.db.selectFrom('vault.audit_outbox').select('payload').execute()).map((r) => r.payload as any)
    .filter((e) => e.action.startsWith('vault.key.ceremony.'));
  const actions = events.map((e) => e.action);
  t.equal(actions.filter((a) => a === 'vault.key.ceremony.component_issued').length, 5);
  t.ok(events.some((e) => e.action === 'vault.key.ceremony.create' && e.details.custodians === CUSTODIANS.join(',') && e.details.checkValue === kcv));
  t.ok(events.some((e) => e.action === 'vault.key.ceremony.import' && e.details.custodians === 'alice,carol,erin' && e.outcome === 'success'));
  t.ok(events.some((e) => e.action === 'vault.key.ceremony.component_refused' && e.details.custodians === 'carol'));
  t.equal(events.filter((e) => e.action === 'vault.key.ceremony.import_refused').length, 4);
  const haystack = JSON.stringify(events) + outputs.join('\n');
  for (const name of CUSTODIANS) {
    const bytes = Buffer.from(body(component(name)), 'base64url');
    for (const form of [body(component(name)), bytes.toString('base64'), bytes.toString('hex'), bytes.subarray(0, 8).toString('hex')]) {
      t.notOk(haystack.includes(form), `${name}'s component does not appear (${form.length} chars)`);
    }
  }
});

t.test('SP-17 XOR components in the development key file: all are needed, each checked', async (t) => {
  const kekFile = join(dir, 'kek.json');
  writeFileSync(kekFile, JSON.stringify({ active: 1, keys: { 1: randomBytes(32).toString('base64') } }), { mode: 0o600 });
  const file = new FileKeyProvider(kekFile, 0);
  const steps: CeremonyStep[] = [];
  const audit = async (s: CeremonyStep) => { steps.push(s); };
  const made = await createKek(file, 'xor', 3, ['ann', 'ben', 'cat'], audit);
  t.equal(made.version, 2);
  t.equal(file.checkValue(2), made.kcv);
  const entries = made.issued.map((i) => ({ custodian: i.custodian, component: i.component }));
  await t.rejects(importKek(file, entries.slice(0, 2), audit), /2 component\(s\) entered; this KEK needs 3 of 3/);
  t.rejects(createKek(file, 'xor', 2, ['ann', 'ben', 'cat'], audit), /threshold = number of custodians/);
  t.rejects(createKek(file, 'shamir', 1, ['ann', 'ben'], audit), /dual control/);
  await t.rejects(importKek(file, entries.slice(0, 1), audit), /at least two named custodians/);
  const again = await importKek(file, entries, audit, made.kcv);
  t.equal(again.kcv, made.kcv);
  t.equal(keyCheckValue(Buffer.alloc(32)), keyCheckValue(Buffer.alloc(32)), 'KCV is deterministic');
  t.ok(steps.every((s) => !JSON.stringify(s).includes(entries[0]!.component.split('.')[4]!)), 'no component in audit steps');
});
