// RFC 8785 JSON Canonicalization Scheme: the one byte encoding an audit record is hashed and
// signed in, so a verifier in any language (or in ten years) recomputes the same bytes.
// Keys sorted by UTF-16 code units, no whitespace, numbers in ECMAScript shortest form (what
// JSON.stringify prints), strings escaped as JSON.stringify escapes them (RFC 8785 §3.2.2.2).

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      // Default sort compares UTF-16 code units, which is exactly what RFC 8785 §3.2.3 asks.
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode ${typeof value}`);
  }
}
