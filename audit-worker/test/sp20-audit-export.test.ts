// SP-20, SP-21: staff export one client's trail over the admin listener; the gateway has no
// access to schema `audit` and asks the real audit-worker process on its private mutual-TLS
// listener, which signs the export. An investigator verifies it offline with
// `npm run audit:verify -- --export FILE`, and any edit of the file is caught.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Agent, request } from 'undici';
import { verifyAuditExport } from '../../lib/audit/export.js';
import { makeAuditEvent } from '../../lib/audit/event.js';
import { appendAuditEvent } from '../../lib/audit/outbox.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { buildTestGateway } from '../../test/support/gateway.js';
import { listenAdmin } from '../../test/support/admin.js';
import { randomKzPhone, registerClient } from '../../test/support/clients.js';
import { runToExit } from '../../test/support/processes.js';
import { pkiFile, testDataDir } from '../../test/support/pki.js';
import { freePort } from '../../test/support/net.js';
import { startAuditWorkerProcess } from '../../test/support/audit-worker.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { appendEvents, dbAs, storeWaiting, testPublicKey, testSigner } from './support.js';

const q = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

/** A test gateway whose AUDIT_EXPORT_URL points at the real worker process on its own database and queue. */
async function gatewayWithWorker(t: Test) {
  const exportPort = await freePort();
  const gw = await buildTestGateway(t, { env: { AUDIT_EXPORT_URL: `https://127.0.0.1:${exportPort}` } });
  const worker = await startAuditWorkerProcess(t, gw.databaseUrl, gw.env.AUDIT_QUEUE!, { AUDIT_EXPORT_PORT: String(exportPort) });
  t.equal(worker.ready.exportPort, exportPort, 'the worker announces its export listener');
  return { gw, worker, exportPort };
}

t.test('SP-20 a client trail exports as signed JSON Lines from the worker, every record proved, verified offline', async (t) => {
  const { gw, worker } = await gatewayWithWorker(t);
  const writer = dbAs(t, gw.databaseUrl, 'audit_writer');
  const alice = await registerClient(gw);
  const bob = await registerClient(gw);
  await appendEvents(gw.db, 5, { at: gw.clock.now(), clientId: alice.clientId });
  const paymentId = uuidv7();
  await appendAuditEvent(gw.db, 'gateway', makeAuditEvent({ component: 'gateway', actor: { type: 'staff', id: 'admin' },
    action: 'payment.refunded', outcome: 'success', targets: { paymentId } }, gw.clock.now()));
  await storeWaiting(writer, gw.clock);
  await writeCheckpoint(writer, testSigner(), gw.clock);
  gw.clock.advance(1000);
  await appendEvents(gw.db, 2, { at: gw.clock.now(), clientId: alice.clientId });
  await storeWaiting(writer, gw.clock);

  const admin = await listenAdmin(t, gw.ctx);
  const from = new Date(gw.clock.now().getTime() - 3600_000).toISOString();
  const to = new Date(gw.clock.now().getTime() + 3600_000).toISOString();
  const res = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?${q(from, to)}`);
  t.equal(res.status, 200, 'the export answers');
  t.match(res.headers['content-type'], /application\/x-ndjson/);
  const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
  const records = lines.filter((l) => l.type === 'record');
  t.ok(records.length > 0);
  const actions = records.map((r) => r.event.action);
  t.ok(actions.includes('client.registered') && actions.includes('session.login'), 'the real registration and login are there');
  t.equal(actions.filter((a) => a === 'payment.confirm').length, 7, 'and the 7 test events');
  t.ok(records.length >= 9, 'registration, login and the 7 test events at least');
  t.ok(records.every((r) => r.event.targets.clientId === alice.clientId || r.event.actor.id === alice.clientId
    || (r.event.targets.clientId === undefined && r.event.targets.phone === alice.phone)), 'only this client (by id, or by phone before the id was known)');
  t.notOk(res.text.includes(bob.clientId), "no other client's events");
  t.notOk(res.text.includes(alice.password), 'no password in the export');
  t.same(lines[0].seqs, records.map((r) => r.seq), 'the signed header lists every record in order');
  t.ok(records.every((r) => r.proof !== null), 'every record carries a proof: the worker signed a checkpoint for the newest');
  const verdict = verifyAuditExport(res.text, testPublicKey());
  t.match(verdict, { ok: true, records: records.length, checkpoints: 2, covered: lines[0].checkpoint.count });
  const { rows: cps } = await sql<{ count: number }>`select count from audit.checkpoints order by count`.execute(writer);
  t.equal(cps.length, 2, 'one checkpoint written at export time');
  t.equal(lines[0].checkpoint.count, cps[1]!.count);

  const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATA_DIR: testDataDir() };
  writeFileSync(join(dir, 'ok.jsonl'), res.text);
  const ok = await runToExit('scripts/audit-verify.ts', env, ['--export', join(dir, 'ok.jsonl')]);
  t.equal(ok.code, 0, ok.output);
  t.match(ok.output, new RegExp(`^intact: ${records.length} records`, 'm'));

  const victim = records[1];
  const edited = res.text.replace(JSON.stringify(victim.event), JSON.stringify({ ...victim.event, outcome: 'failure' }));
  t.not(edited, res.text);
  writeFileSync(join(dir, 'edited.jsonl'), edited);
  const bad = await runToExit('scripts/audit-verify.ts', env, ['--export', join(dir, 'edited.jsonl')]);
  t.equal(bad.code, 1);
  t.match(bad.output, new RegExp(`TAMPERED \\(altered\\): line \\d+ \\(seq ${victim.seq}\\)`));
  const droppedLine = res.text.split('\n').filter((l) => !l.includes(`"seq":${records[0].seq},`)).join('\n');
  writeFileSync(join(dir, 'dropped.jsonl'), droppedLine);
  const dropped = await runToExit('scripts/audit-verify.ts', env, ['--export', join(dir, 'dropped.jsonl')]);
  t.equal(dropped.code, 1);
  t.match(dropped.output, new RegExp(`TAMPERED \\(dropped\\): line \\d+ \\(seq ${records[0].seq}\\)`), 'a removed line is named');

  const byPayment = await admin.call('GET', `/v1/payments/${paymentId}/audit?${q(from, to)}`);
  t.equal(byPayment.status, 200);
  t.match(verifyAuditExport(byPayment.text, testPublicKey()), { ok: true, records: 1 }, "a payment's trail exports too");

  const { rows } = await sql<{ n: number }>`select count(*)::int as n from gateway.audit_outbox where payload->>'action' = 'audit.exported'
    and payload #>> '{actor,type}' = 'staff' and payload->>'outcome' = 'success'`.execute(gw.db);
  t.equal(rows[0]!.n, 2, 'each export is itself audited with the staff identity');
  const badRange = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?${q(to, from)}`);
  t.equal(badRange.status, 400);
  t.equal(badRange.json().code, 'validation_failed');
  t.equal((await admin.call('GET', `/v1/clients/${alice.clientId}/audit?${q(from, to)}`, undefined, 'gateway')).status, 403, 'staff only');

  // The worker gone: the staff route answers 503 problem+json, and the attempt is audited.
  await worker.stop();
  const down = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?${q(from, to)}`);
  t.equal(down.status, 503);
  t.match(down.headers['content-type'], /application\/problem\+json/);
  t.equal(down.json().code, 'service_unavailable');
  const { rows: failed } = await sql<{ n: number }>`select count(*)::int as n from gateway.audit_outbox where payload->>'action' = 'audit.exported'
    and payload->>'outcome' = 'failure'`.execute(gw.db);
  t.equal(failed[0]!.n, 1, 'the failed export is audited too');
});

t.test('SP-20: a client export also holds what was recorded under the phone before the client id was known', async (t) => {
  const { gw } = await gatewayWithWorker(t);
  const writer = dbAs(t, gw.databaseUrl, 'audit_writer');
  const login = (phone: string, password: string) => gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password } });
  // The phone is locked before its client ever logs in: three wrong passwords, then a refusal.
  const phone = randomKzPhone();
  for (let i = 0; i < 3; i++) await login(phone, 'Wrong-Horse-77');
  t.equal((await login(phone, 'Wrong-Horse-77')).statusCode, 423, 'locked before the client exists');
  gw.clock.advance(3_600_000);
  const alice = await registerClient(gw, { phone });
  const stranger = randomKzPhone();
  for (let i = 0; i < 4; i++) await login(stranger, 'Wrong-Horse-77');
  await storeWaiting(writer, gw.clock);

  const admin = await listenAdmin(t, gw.ctx);
  const from = new Date(gw.clock.now().getTime() - 2 * 3600_000).toISOString();
  const to = new Date(gw.clock.now().getTime() + 3600_000).toISOString();
  const res = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?${q(from, to)}`);
  t.equal(res.status, 200);
  const records = res.text.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record');
  const byPhone = records.filter((r) => r.event.targets.clientId === undefined);
  t.ok(byPhone.length > 0, 'events found by phone');
  const seen = byPhone.map((r) => `${r.event.action}/${r.event.outcome}/${r.event.details?.reason ?? ''}`);
  t.ok(seen.includes('session.login/refused/login_locked'), 'the lock refusal recorded before the client was known');
  t.ok(seen.includes('otp.sent/success/'), 'the verification code sent before registration');
  t.ok(seen.includes('verification.confirmed/success/'), 'the verification confirmed before registration');
  t.ok(byPhone.every((r) => r.event.targets.phone === phone), 'only this phone');
  t.notOk(res.text.includes(stranger), "another phone's refusals are not in it");
  t.match(verifyAuditExport(res.text, testPublicKey()), { ok: true, records: records.length });
});

t.test('SP-20 an empty trail is a signed export of no records', async (t) => {
  const { gw } = await gatewayWithWorker(t);
  const admin = await listenAdmin(t, gw.ctx);
  const res = await admin.call('GET', `/v1/clients/${uuidv7()}/audit?${q('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')}`);
  t.equal(res.status, 200, 'the export answers');
  t.match(verifyAuditExport(res.text, testPublicKey()), { ok: true, records: 0, covered: null });
});

t.test('SP-4, SP-20 the worker export listener answers only allow-listed client certificates', async (t) => {
  const { exportPort } = await gatewayWithWorker(t);
  const url = `https://127.0.0.1:${exportPort}/v1/clients/${uuidv7()}/audit?${q('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')}`;
  const call = async (as: 'gateway' | 'admin' | 'none') => {
    const agent = new Agent({
      connect: as === 'none' ? { ca: pkiFile('ca.crt') } : { ca: pkiFile('ca.crt'), cert: pkiFile(`${as}.crt`), key: pkiFile(`${as}.key`) },
    });
    try {
      const res = await request(url, { dispatcher: agent });
      return { status: res.statusCode, body: await res.body.text() };
    } finally {
      await agent.close();
    }
  };
  t.equal((await call('gateway')).status, 200, 'the gateway certificate is allowed');
  const staff = await call('admin');
  t.equal(staff.status, 403, 'a staff certificate is not: staff go through the gateway, which audits them');
  t.equal(JSON.parse(staff.body).code, 'peer_not_allowed');
  await t.rejects(call('none'), { code: /ECONNRESET|UND_ERR_SOCKET|ERR_SSL/ }, 'no certificate, no TLS session');
});
