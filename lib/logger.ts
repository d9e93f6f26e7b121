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

const binary = (value: ArrayBufferView | ArrayBuffer) => `[binary, ${value.byteLength} bytes]`;

/**
 * `value` with every Buffer, typed array or ArrayBuffer inside its plain objects and arrays
 * replaced by its length. Card data is held in Buffers, which JSON would print byte by byte
 * whatever their key is called; and the redactor throws on a Buffer at the top level (a
 * TypedArray getter called on its copy) and gives up on the whole branch around a nested one.
 * Class instances (requests, errors) are left to their serializers. The caller's object is never
 * changed: a branch holding a binary value is copied.
 */
export function withoutBinary(value: unknown, seen = new WeakSet<object>()): unknown {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return binary(value);
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    const items = value.map((item: unknown) => withoutBinary(item, seen));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const replaced = withoutBinary(item, seen);
    if (replaced !== item) (copy ??= { ...value })[key] = replaced;
  }
  return copy ?? value;
}

/**
 * A log call's merge object, binary values replaced; a bare binary value is named. (Pino applies
 * no formatter to a child's bindings: those are request ids and names, never data.)
 */
function logObject(object: Record<string, unknown>): Record<string, unknown> {
  const cleaned = withoutBinary(object);
  return typeof cleaned === 'string' ? { binary: cleaned } : cleaned as Record<string, unknown>;
}

export function loggerOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    formatters: { log: logObject },
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(name: string, level: string, stream?: DestinationStream): Logger {
  return stream ? pino(loggerOptions(name, level), stream) : pino(loggerOptions(name, level));
}

export type { Logger };
