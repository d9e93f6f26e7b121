// One pino configuration for every process. Redaction is the second line of defence: the first
// is never logging bodies, rows or card objects (SP-16, SP-17 / PCI DSS 3.3, 10.3).
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const SENSITIVE_KEYS = [
  'pan', 'number', 'cardNumber', 'card', 'cvv', 'cvc', 'expMonth', 'expYear',
  'password', 'currentPassword', 'newPassword', 'passwordHash',
  'code', 'otp', 'token', 'verificationToken', 'sessionToken', 'refreshToken',
  'authorization', 'cookie', 'secret', 'key', 'privateKey',
];

export const redactPaths: string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  ...SENSITIVE_KEYS,
  ...SENSITIVE_KEYS.map((k) => `*.${k}`),
  ...SENSITIVE_KEYS.map((k) => `*.*.${k}`),
];

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(name: string, level: string, stream?: DestinationStream): Logger {
  return stream ? pino(loggerOptions(name, level), stream) : pino(loggerOptions(name, level));
}

export type { Logger };
