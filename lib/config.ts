// Settings are read once at boot from an environment-like record, validated, then frozen.
// A bad or missing setting throws ConfigError naming it; each process's server.ts turns that
// into a one-line message and a non-zero exit. Nothing below a process's config.ts reads process.env.
import { existsSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly setting: string, problem: string) {
    super(`invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

function raw(env: Env, name: string, fallback: string | undefined): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback === undefined) throw new ConfigError(name, 'is required but not set');
  return fallback;
}

export function str(env: Env, name: string, fallback?: string): string {
  return raw(env, name, fallback);
}

/**
 * BULLMQ_PREFIX: the prefix of every BullMQ key. The default `bull` is BullMQ's own; on Redis
 * Cluster set a hash tag such as `{pgw}` so each queue's keys share one slot, as its Lua scripts
 * need. Gateway, vault and audit-worker must use the same value.
 */
export function bullmqPrefix(env: Env): string {
  const value = raw(env, 'BULLMQ_PREFIX', 'bull');
  if (!/^[A-Za-z0-9_{}.-]{1,64}$/.test(value)) {
    throw new ConfigError('BULLMQ_PREFIX', 'must be 1-64 letters, digits, `_ . -` or a `{hash tag}`, without `:`');
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback?: T): T {
  const value = raw(env, name, fallback);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
  }
  return value as T;
}

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name, String(fallback));
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer (got "${value}")`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

export function port(env: Env, name: string, fallback: number): number {
  return int(env, name, fallback, 0, 65535);
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name, String(fallback));
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${value}")`);
}

export function url(env: Env, name: string, protocols: readonly string[], fallback?: string): URL {
  const value = raw(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL (got "${value}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return parsed;
}

export function list(env: Env, name: string, fallback: string): string[] {
  const items = raw(env, name, fallback).split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new ConfigError(name, 'must list at least one value');
  return items;
}

/**
 * A list of IP addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`), each one checked, so a typo
 * stops the process instead of silently trusting or refusing the wrong peers. A /0 range is
 * refused: it names every address.
 */
export function ipRanges(env: Env, name: string, fallback?: string): string[] {
  const items = raw(env, name, fallback).split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new ConfigError(name, 'must list at least one address or range');
  for (const item of items) {
    const [address = '', prefix, ...rest] = item.split('/');
    const family = isIP(address);
    if (family === 0 || address.includes('%') || rest.length > 0) {
      throw new ConfigError(name, `"${item}" is not an IP address or CIDR range`);
    }
    if (prefix === undefined) continue;
    const bits = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) < 1 || Number(prefix) > bits) {
      throw new ConfigError(name, `"${item}" needs a prefix length between 1 and ${bits}`);
    }
  }
  return items;
}

/** A list of URIs (`spiffe://…`, `urn:…`); a bare name is refused, so an old list of common names fails loudly. */
export function uriList(env: Env, name: string, fallback: string): string[] {
  const items = list(env, name, fallback);
  for (const item of items) {
    if (!/^[a-z][a-z0-9+.-]*:[^\s,]+$/i.test(item)) {
      throw new ConfigError(name, `"${item}" is not a URI (services are named by their certificate's URI, e.g. spiffe://payments.internal/gateway)`);
    }
  }
  return items;
}

/**
 * An optional certificate revocation list (PEM or DER), read and parsed once at boot: a file
 * TLS cannot load stops the process rather than every handshake later.
 */
export function revocationList(env: Env, name: string, base: string): Buffer | undefined {
  if (!env[name]) return undefined;
  const crl = readFileSync(file(env, name, base));
  try {
    createSecureContext({ crl });
  } catch {
    throw new ConfigError(name, 'is not a certificate revocation list (PEM or DER)');
  }
  return crl;
}

/** A path that must exist when the process starts; relative paths resolve against `base`. */
export function file(env: Env, name: string, base: string, fallback?: string): string {
  const value = raw(env, name, fallback);
  const path = isAbsolute(value) ? value : resolve(base, value);
  if (!existsSync(path)) throw new ConfigError(name, `file not found: ${path}`);
  return path;
}

/** Reads a secret file once at boot. The caller keeps the bytes out of logs. */
export function secretFile(env: Env, name: string, base: string, fallback?: string): Buffer {
  return readFileSync(file(env, name, base, fallback));
}

export function freeze<T extends object>(value: T): Readonly<T> {
  for (const v of Object.values(value)) {
    if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof URL)) freeze(v);
  }
  return Object.freeze(value);
}

/** Runs a config loader; on ConfigError prints one line naming the setting and exits 1. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`config error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * The process's Prometheus scrape listener (lib/metrics.ts), or undefined when METRICS_PORT is
 * unset: several processes of one kind on a host (tests, npm start beside a deployment) must not
 * fight over a fixed port, so a deployment names it (deploy/ sets 9464, 9465, 9466). 0 takes a free port.
 */
export function metricsListener(env: Env): { host: string; port: number } | undefined {
  if (!env.METRICS_PORT) return undefined;
  return { host: str(env, 'METRICS_HOST', '127.0.0.1'), port: port(env, 'METRICS_PORT', 0) };
}
