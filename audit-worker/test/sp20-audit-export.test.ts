// SP-20, SP-21: staff export one client's trail with chain proofs over the admin listener; an
// investigator verifies it offline with `npm run audit:verify -- --export FILE`, and any edit
// of the file is caught.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { verifyAuditExport } from '../../lib/audit/export.js';
import { makeAuditEvent } from '../../lib/audit/event.js';
import { appendAuditEvent } from '../../lib/audit/outbox.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { buildTestGateway } from '../../test/support/gateway.js';
import { listenAdmin } from '../../test/support/admin.js';
import { registerClient } from '../../test/support/clients.js';
import { runToExit } from '../../test/support/processes.js';
import { testDataDir } from '../../test/support/pki.js';
import { writeCheckpoint } from '../src/checkpoint.js';
import { appendEvents, dbAs, storeWaiting, testPublicKey, testSigner } from './support.js';

t.test('SP-20 a client trail exports as JSON Lines that verify offline', async (t) => {
  const gw = await buildTestGateway(t);
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
  const res = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  t.equal(res.status, 200);
  t.match(res.headers['content-type'], /application\/x-ndjson/);
  const lines = res.text.trim().split('\n').map((l) => JSON.parse(l));
  const records = lines.filter((l) => l.type === 'record');
  const actions = records.map((r) => r.event.action);
  t.ok(actions.includes('client.registered') && actions.includes('session.login'), 'the real registration and login are there');
  t.equal(actions.filter((a) => a === 'payment.confirm').length, 7, 'and the 7 test events');
  t.ok(records.length >= 9, 'registration, login and the 7 test events at least');
  t.ok(records.every((r) => r.event.targets.clientId === alice.clientId || r.event.actor.id === alice.clientId), 'only this client');
  t.notOk(res.text.includes(bob.clientId), "no other client's events");
  t.notOk(res.text.includes(alice.password), 'no password in the export');
  const verdict = verifyAuditExport(res.text, testPublicKey());
  t.match(verdict, { ok: true, unproven: 2 }, 'proved against the signed checkpoint, newer records marked unproven');

  const dir = mkdtempSync(join(tmpdir(), 'audit-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATA_DIR: testDataDir() };
  writeFileSync(join(dir, 'ok.jsonl'), res.text);
  const ok = await runToExit('scripts/audit-verify.ts', env, ['--export', join(dir, 'ok.jsonl')]);
  t.equal(ok.code, 0, ok.output);
  t.match(ok.output, /^intact: \d+ records/m);

  const victim = records[1];
  const edited = res.text.replace(JSON.stringify(victim.event), JSON.stringify({ ...victim.event, outcome: 'failure' }));
  t.not(edited, res.text);
  writeFileSync(join(dir, 'edited.jsonl'), edited);
  const bad = await runToExit('scripts/audit-verify.ts', env, ['--export', join(dir, 'edited.jsonl')]);
  t.equal(bad.code, 1);
  t.match(bad.output, new RegExp(`TAMPERED: line \\d+ \\(seq ${victim.seq}\\)`));
  const dropped = res.text.split('\n').filter((l) => !l.includes(`"seq":${records[0].seq},`)).join('\n');
  t.match(verifyAuditExport(dropped, testPublicKey()), { ok: false, problem: /announces/ }, 'a removed line is noticed');

  const byPayment = await admin.call('GET', `/v1/payments/${paymentId}/audit?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  t.equal(byPayment.status, 200);
  t.match(verifyAuditExport(byPayment.text, testPublicKey()), { ok: true, records: 1, proven: 1 }, "a payment's trail exports too");

  const { rows } = await sql<{ n: number }>`select count(*)::int as n from gateway.audit_outbox where payload->>'action' = 'audit.exported'
    and payload #>> '{actor,type}' = 'staff'`.execute(gw.db);
  t.equal(rows[0]!.n, 2, 'each export is itself audited with the staff identity');
  const badRange = await admin.call('GET', `/v1/clients/${alice.clientId}/audit?from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`);
  t.equal(badRange.status, 400);
  t.equal(badRange.json().code, 'validation_failed');
  t.equal((await admin.call('GET', `/v1/clients/${alice.clientId}/audit?from=${from}&to=${to}`, undefined, 'gateway')).status, 403, 'staff only');
});
