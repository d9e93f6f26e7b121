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

// Plain objects and arrays this deep are searched for binary values; class instances (requests,
// errors) have serializers of their own.
const BINARY_SEARCH_DEPTH = 4;

/**
 * The log object with every Buffer, typed array or ArrayBuffer replaced by its length. Card data is
 * held in Buffers, which JSON would print byte by byte whatever their key is called; and the
 * redactor throws on a Buffer at the top level (a TypedArray getter called on its copy) and gives
 * up on the whole branch when one is nested. The caller's object is never changed: a branch holding
 * a binary value is copied.
 */
export function withoutBinary(value: unknown, depth = 0): unknown {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary, ${value.byteLength} bytes]`;
  if (depth >= BINARY_SEARCH_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => withoutBinary(item, depth + 1));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const replaced = withoutBinary(item, depth + 1);
    if (replaced !== item) (copy ??= { ...value })[key] = replaced;
  }
  return copy ?? value;
}

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    formatters: { log: (object) => withoutBinary(object) as Record<string, unknown> },
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(name: string, level: string, stream?: DestinationStream): Logger {
  return stream ? pino(loggerOptions(name, level), stream) : pino(loggerOptions(name, level));
}

export type { Logger };
