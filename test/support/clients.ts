// Contract A.3: clients for tests, made through the real public flow (verification SMS read from
// the test gateway's own outbox file, registration, login) via app.inject.
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TestGateway } from './gateway.js';

const PREFIXES = ['700', '701', '702', '705', '707', '708', '747', '771', '775', '776', '777', '778'];
const seen = new Set<string>();

/** A Kazakhstan mobile number in E.164 (+77xxxxxxxxx), unique within this test process. */
export function randomKzPhone(): string {
  for (;;) {
    const phone = `+7${PREFIXES[randomInt(PREFIXES.length)]}${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
    if (!seen.has(phone)) {
      seen.add(phone);
      return phone;
    }
  }
}

export interface SentSms {
  to: string;
  text: string;
  sentAt: string;
}

/** Every SMS the test gateway has sent, oldest first. */
export async function sentSms(gw: TestGateway): Promise<SentSms[]> {
  let text: string;
  try {
    text = await readFile(gw.ctx.config.identity.sms.outboxFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as SentSms);
}

/** The code in the newest SMS sent to `phone` (E.164). */
export async function lastSmsCode(gw: TestGateway, phone: string): Promise<string> {
  const mine = (await sentSms(gw)).filter((m) => m.to === phone);
  const last = mine[mine.length - 1];
  if (!last) throw new Error(`no SMS was sent to ${phone}`);
  const codes = last.text.match(/\b\d{6}\b/g) ?? [];
  if (codes.length !== 1) throw new Error('the SMS does not hold exactly one 6-digit code');
  return codes[0]!;
}

/**
 * SP-10 freshness of codes sent one after another to the SAME phone: nearly all distinct. Two
 * fresh 6-digit codes are equal with probability 10^-6, so among n codes three or more equal
 * pairs come with probability below (n(n-1)/2 * 10^-6)^3 / 6 (< 10^-9 for n <= 50): allowing
 * two repeats makes a false failure practically impossible, while a constant code, or one derived
 * from the phone, yields a single distinct value and fails.
 */
export function freshCodes(codes: readonly string[]): boolean {
  if (codes.length < 5 || codes.length > 50) throw new Error('freshCodes needs 5 to 50 codes');
  return new Set(codes).size >= codes.length - 2;
}

/** Verifies `phone` through the SMS flow (for registration, or a password reset) and returns the verificationToken. */
export async function verifyPhone(
  gw: TestGateway,
  phone: string,
  purpose: 'verification' | 'password_reset' = 'verification',
): Promise<{ verificationToken: string; registered: boolean }> {
  const started = await gw.app.inject({ method: 'POST', url: '/v1/verifications', payload: { phone, purpose } });
  if (started.statusCode !== 202) throw new Error(`verification failed: ${started.statusCode} ${started.body}`);
  const code = await lastSmsCode(gw, phone);
  const confirmed = await gw.app.inject({ method: 'POST', url: `/v1/verifications/${started.json().verificationId}/confirm`, payload: { code } });
  if (confirmed.statusCode !== 200) throw new Error(`confirmation failed: ${confirmed.statusCode} ${confirmed.body}`);
  return confirmed.json();
}

/** Logs in and returns the session token. */
export async function loginClient(gw: TestGateway, phone: string, password: string): Promise<string> {
  const res = await gw.app.inject({ method: 'POST', url: '/v1/sessions', payload: { phone, password } });
  if (res.statusCode !== 201) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return res.json().token;
}

/** Registers a client through the real flow and logs it in. */
export async function registerClient(
  gw: TestGateway,
  opts: { phone?: string; password?: string; name?: string } = {},
): Promise<{ clientId: string; phone: string; password: string; token: string }> {
  const phone = opts.phone ?? randomKzPhone();
  const password = opts.password ?? 'Steppe-Wind-42';
  const { verificationToken } = await verifyPhone(gw, phone);
  const reg = await gw.app.inject({
    method: 'POST',
    url: '/v1/registrations',
    payload: { verificationToken, name: opts.name ?? 'Aigerim Test', birthDate: '1990-05-17', password },
  });
  if (reg.statusCode !== 201) throw new Error(`registration failed: ${reg.statusCode} ${reg.body}`);
  const token = await loginClient(gw, phone, password);
  return { clientId: reg.json().clientId, phone, password, token };
}

export interface OutboxEvent {
  action: string;
  outcome: string;
  actor: { type: string; id?: string };
  targets: Record<string, unknown>;
  details?: Record<string, unknown>;
  ip?: string;
  userAgent?: string;
  requestId?: string;
}

/** Audit events the gateway wrote to its outbox (SP-21), oldest first, optionally one action only. */
export async function auditEvents(gw: TestGateway, action?: string): Promise<OutboxEvent[]> {
  const rows = await gw.db.selectFrom('gateway.audit_outbox').select('payload').orderBy('event_id').execute();
  const events = rows.map((r) => r.payload as OutboxEvent);
  return action ? events.filter((e) => e.action === action) : events;
}
