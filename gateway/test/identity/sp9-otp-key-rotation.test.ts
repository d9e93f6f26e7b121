// SP-9 (PCI DSS 3.6.1, 3.7.4): online rotation of the OTP HMAC key. Each code's row stores the id
// of the key that hashed it; during a rotation instances run with the new key as current and the
// old one as OTP_HMAC_PREVIOUS_KEY_*: new codes are hashed under the new key, codes already sent
// still confirm; once the previous key is dropped a code hashed under it no longer confirms.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestGateway, type TestGateway } from '../../../test/support/gateway.js';
import { lastSmsCode, randomKzPhone } from '../../../test/support/clients.js';

const dir = mkdtempSync(join(tmpdir(), 'pgw-otp-keys-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 });
  return path;
};
const OLD = keyFile('otp-1.key');
const NEW = keyFile('otp-2.key');
const LIMITS = { OTP_RESEND_COOLDOWN_SECONDS: '0', OTP_MAX_PER_PHONE_HOUR: '100', OTP_MAX_PER_IP_HOUR: '100', VERIFICATION_RATE_LIMIT_PER_MINUTE: '1000' };

async function startVerification(gw: TestGateway) {
  const phone = randomKzPhone();
  const res = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone } });
  if (res.statusCode !== 202) throw new Error(res.body);
  const id = res.json().verificationId as string;
  return { id, code: await lastSmsCode(gw, phone) };
}

const confirm = (gw: TestGateway, v: { id: string; code: string }) =>
  gw.app.inject({ method: 'POST', url: `/v1/verifications/${v.id}/confirm`, payload: { code: v.code } });

// A verification's code row has the verification's id as its subject.
const keyIdOf = async (gw: TestGateway, v: { id: string }) =>
  (await gw.db.selectFrom('gateway.otps').select('key_id').where('subject_id', '=', v.id).executeTakeFirstOrThrow()).key_id;

t.test('SP-9 OTP HMAC key rotation: old codes verify under the previous key, new codes use the current, a dropped key verifies nothing', async (t) => {
  const before = await buildTestGateway(t, { env: { ...LIMITS, OTP_HMAC_KEY_FILE: OLD, OTP_HMAC_KEY_ID: '1' } });
  const during = await buildTestGateway(t, {
    instanceOf: before, env: { OTP_HMAC_KEY_FILE: NEW, OTP_HMAC_KEY_ID: '2', OTP_HMAC_PREVIOUS_KEY_ID: '1', OTP_HMAC_PREVIOUS_KEY_FILE: OLD },
  });
  const after = await buildTestGateway(t, { instanceOf: before, env: { OTP_HMAC_KEY_FILE: NEW, OTP_HMAC_KEY_ID: '2' } });

  const sentBefore = await startVerification(before);
  const sentBefore2 = await startVerification(before);
  t.equal(await keyIdOf(before, sentBefore), '1');
  const sentDuring = await startVerification(during);
  t.equal(await keyIdOf(during, sentDuring), '2', 'new codes are hashed under the current key');

  t.equal((await confirm(during, sentBefore)).statusCode, 200, 'a code sent before the switch confirms during it');
  t.equal((await confirm(after, sentDuring)).statusCode, 200, 'a code hashed under the new key confirms after the old key is dropped');
  const stale = await confirm(after, sentBefore2);
  t.equal(stale.statusCode, 400, 'a code under a dropped key confirms nowhere');
  t.equal(stale.json().code, 'otp_invalid');
});
