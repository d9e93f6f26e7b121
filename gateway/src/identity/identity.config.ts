// Identity settings (README "Settings"), read by config.ts from the same env record. Defaults
// suit `npm start`; production refuses the development SMS outbox.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, file, int, oneOf, secretFile, str, url, type Env } from '../../../lib/config.js';
import { Secret } from '../../../lib/secret.js';

export interface IdentityConfig {
  /** HMAC keys for one-time codes by key id; new codes use `otpActiveKeyId` (rotation keeps old ids). */
  otpActiveKeyId: string;
  otpKeys: Readonly<Record<string, Secret<Buffer>>>;
  otpCaps: {
    cooldownSeconds: number;
    perPhonePerHour: number;
    perIpPerHour: number;
    perPrefixPerHour: number;
    perClientPhonePerHour: number;
    /** Daily SMS budgets: anonymous codes (verification, reset) and logged-in codes (password change, payment) apart. */
    dailyBudgetVisitor: number;
    dailyBudgetClient: number;
  };
  /** Wrong payment and password-change codes a client may enter per day, across all its requests. */
  otpWrongPerClientDay: number;
  sms: {
    provider: 'outbox' | 'http';
    outboxFile: string;
    httpUrl: URL | null;
    httpToken: Secret<string> | null;
    /** The CA that signed the SMS provider's certificate when it is not a public one (a bank's internal CA). */
    httpCa: Buffer | null;
    timeoutMs: number;
  };
  passwordHash: { memoryKib: number; timeCost: number; parallelism: number; concurrency: number; queue: number; nice: number };
  session: { idleMinutes: number; absoluteHours: number };
  rateLimits: { loginPerMinute: number; verificationPerMinute: number };
  minimumAgeYears: number;
}

function otpKey(env: Env, data: string): Buffer {
  const raw = secretFile(env, 'OTP_HMAC_KEY_FILE', data, join(data, 'keys', 'otp-hmac.key')).toString('utf8').trim();
  const key = Buffer.from(raw, 'base64');
  if (key.length < 32) throw new ConfigError('OTP_HMAC_KEY_FILE', 'must hold at least 32 random bytes, base64');
  return key;
}

/**
 * OTP_DAILY_BUDGET is the day's total SMS spend, split so an anonymous flood cannot use up the
 * codes that confirm payments: by default 60 % for visitors, the rest for logged-in clients.
 */
function dailyBudgets(env: Env): { dailyBudgetVisitor: number; dailyBudgetClient: number } {
  const total = int(env, 'OTP_DAILY_BUDGET', 50_000, 2, 100_000_000);
  const budget = (name: string, fallback: number) => int(env, name, fallback, 1, total - 1);
  const clientGiven = env.OTP_DAILY_BUDGET_CLIENT ? budget('OTP_DAILY_BUDGET_CLIENT', 1) : undefined;
  const dailyBudgetVisitor = budget('OTP_DAILY_BUDGET_VISITOR', clientGiven === undefined ? Math.floor(total * 0.6) : Math.max(1, total - clientGiven));
  const dailyBudgetClient = clientGiven ?? budget('OTP_DAILY_BUDGET_CLIENT', total - dailyBudgetVisitor);
  if (dailyBudgetVisitor + dailyBudgetClient > total) {
    throw new ConfigError('OTP_DAILY_BUDGET', `OTP_DAILY_BUDGET_VISITOR + OTP_DAILY_BUDGET_CLIENT (${dailyBudgetVisitor + dailyBudgetClient}) exceed it (${total})`);
  }
  return { dailyBudgetVisitor, dailyBudgetClient };
}

export function loadIdentityConfig(env: Env, data: string, mode: 'development' | 'test' | 'production'): IdentityConfig {
  const otpActiveKeyId = str(env, 'OTP_HMAC_KEY_ID', '1');
  const otpKeys: Record<string, Secret<Buffer>> = { [otpActiveKeyId]: new Secret(otpKey(env, data)) };
  const previousId = env.OTP_HMAC_PREVIOUS_KEY_ID;
  if (previousId) {
    const prev = Buffer.from(secretFile(env, 'OTP_HMAC_PREVIOUS_KEY_FILE', data).toString('utf8').trim(), 'base64');
    if (prev.length < 32) throw new ConfigError('OTP_HMAC_PREVIOUS_KEY_FILE', 'must hold at least 32 random bytes, base64');
    otpKeys[previousId] = new Secret(prev);
  }
  const provider = oneOf(env, 'SMS_PROVIDER', ['outbox', 'http'] as const, mode === 'production' ? 'http' : 'outbox');
  if (mode === 'production' && provider === 'outbox') {
    throw new ConfigError('SMS_PROVIDER', 'production must deliver codes through the http provider');
  }
  const http = provider === 'http';
  return {
    otpActiveKeyId,
    otpKeys,
    otpCaps: {
      cooldownSeconds: int(env, 'OTP_RESEND_COOLDOWN_SECONDS', 60, 0, 3600),
      perPhonePerHour: int(env, 'OTP_MAX_PER_PHONE_HOUR', 5, 1, 1000),
      perIpPerHour: int(env, 'OTP_MAX_PER_IP_HOUR', 30, 1, 100_000),
      perPrefixPerHour: int(env, 'OTP_MAX_PER_PREFIX_HOUR', 300, 1, 1_000_000),
      perClientPhonePerHour: int(env, 'OTP_MAX_PER_CLIENT_PHONE_HOUR', 30, 1, 10_000),
      ...dailyBudgets(env),
    },
    otpWrongPerClientDay: int(env, 'OTP_MAX_WRONG_PER_CLIENT_DAY', 15, 1, 1000),
    sms: {
      provider,
      outboxFile: str(env, 'SMS_OUTBOX_FILE', join(data, 'sms-outbox.jsonl')),
      httpUrl: http ? url(env, 'SMS_HTTP_URL', ['https:']) : null,
      httpToken: http
        ? new Secret(secretFile(env, 'SMS_HTTP_TOKEN_FILE', data).toString('utf8').trim())
        : null,
      httpCa: http && env.SMS_HTTP_CA_FILE ? readFileSync(file(env, 'SMS_HTTP_CA_FILE', data)) : null,
      timeoutMs: int(env, 'SMS_HTTP_TIMEOUT_MS', 5_000, 100, 60_000),
    },
    // OWASP's argon2id baseline (19 MiB, t=2, p=1); stored in each PHC string, re-hashed on login when raised.
    // At most half the cores hash at once, in worker threads at a lower priority (nice), so a
    // login flood leaves CPU for every other route.
    passwordHash: {
      memoryKib: int(env, 'PASSWORD_HASH_MEMORY_KIB', 19_456, 1_024, 1_048_576),
      timeCost: int(env, 'PASSWORD_HASH_TIME_COST', 2, 1, 20),
      parallelism: int(env, 'PASSWORD_HASH_PARALLELISM', 1, 1, 16),
      concurrency: int(env, 'PASSWORD_HASH_CONCURRENCY', Math.max(1, Math.floor(availableParallelism() / 2)), 1, 64),
      queue: int(env, 'PASSWORD_HASH_QUEUE', 64, 0, 100_000),
      nice: int(env, 'PASSWORD_HASH_NICE', 10, 0, 19),
    },
    session: {
      idleMinutes: int(env, 'SESSION_IDLE_MINUTES', 15, 1, 1440),
      absoluteHours: int(env, 'SESSION_ABSOLUTE_HOURS', 12, 1, 720),
    },
    rateLimits: {
      loginPerMinute: int(env, 'LOGIN_RATE_LIMIT_PER_MINUTE', 30, 1, 1_000_000),
      verificationPerMinute: int(env, 'VERIFICATION_RATE_LIMIT_PER_MINUTE', 10, 1, 1_000_000),
    },
    minimumAgeYears: int(env, 'CLIENT_MINIMUM_AGE_YEARS', 18, 0, 120),
  };
}
