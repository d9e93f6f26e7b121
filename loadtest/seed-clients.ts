// Registers N sandbox clients through the public API (verification → code from the SMS outbox →
// registration) and writes their phones and passwords to <DATA_DIR>/loadtest/clients.json for
// the k6 scripts. Development only: it reads the outbox file that the `outbox` SMS provider writes.
//   npx tsx loadtest/seed-clients.ts [count] [base-url]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { dataDir } from '../lib/paths.js';

const count = Number(process.argv[2] ?? 50);
const base = process.argv[3] ?? 'https://localhost:8443';
const data = dataDir(process.env);
const outbox = process.env.SMS_OUTBOX_FILE ?? join(data, 'sms-outbox.jsonl');
const agent = new Agent({ connect: { ca: readFileSync(join(data, 'pki', 'ca.crt')) } });

async function post(path: string, body: unknown): Promise<any> {
  const res = await request(`${base}${path}`, {
    method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function lastCode(phone: string): string {
  const lines = readFileSync(outbox, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    const sms = JSON.parse(line) as { to: string; text: string };
    if (sms.to === phone) return /\b(\d{6})\b/.exec(sms.text)![1]!;
  }
  throw new Error(`no SMS for ${phone}`);
}

const clients: { phone: string; password: string }[] = [];
for (let i = 0; i < count; i++) {
  const phone = `+7707${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
  const password = `Load-${randomBytes(6).toString('base64url')}`;
  const { verificationId } = await post('/v1/verifications', { phone });
  const { verificationToken } = await post(`/v1/verifications/${verificationId}/confirm`, { code: lastCode(phone) });
  await post('/v1/registrations', { verificationToken, name: `Load Test ${i}`, birthDate: '1990-01-01', password });
  clients.push({ phone, password });
}
mkdirSync(join(data, 'loadtest'), { recursive: true, mode: 0o700 });
writeFileSync(join(data, 'loadtest', 'clients.json'), JSON.stringify(clients), { mode: 0o600 });
process.stdout.write(`${clients.length} clients written to ${join(data, 'loadtest', 'clients.json')}\n`);
await agent.close();
