// Where the SP-16 canary tests look for card data: every column of every table of every schema in
// a test's own database, and every key and value under a test's own Redis key patterns. A scan
// reports what the search found and where, and how much it read (a scan that read nothing would
// prove nothing).
import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { CardDataSearch } from './card-canary.js';

export interface ScanResult {
  /** `place: what`, one a finding. */
  findings: string[];
  /** Values (database) or keys (Redis) read. */
  read: number;
  /** Columns (schema.table.column) or Redis types seen. */
  places: Set<string>;
}

/**
 * Every column of every table (of `schemas`, or of every schema), whatever its type: bytea is
 * searched as raw bytes, anything else (text, json, jsonb, arrays, numbers) as PostgreSQL prints it. Partitions are read through their
 * parent table.
 */
export async function scanDatabase(db: Kysely<any>, search: CardDataSearch, opts: { schemas?: readonly string[] } = {}): Promise<ScanResult> {
  const only = opts.schemas ? sql`and n.nspname = any(${[...opts.schemas]}::text[])` : sql``;
  const { rows: columns } = await sql<{ schema: string; table: string; column: string; type: string }>`
    select n.nspname as schema, c.relname as table, a.attname as column, t.typname as type
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_type t on t.oid = a.atttypid
    where c.relkind in ('r', 'p', 'm') and not c.relispartition and a.attnum > 0 and not a.attisdropped
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' ${only}
    order by n.nspname, c.relname, a.attnum`.execute(db);
  const result: ScanResult = { findings: [], read: 0, places: new Set() };
  for (const c of columns) {
    const place = `${c.schema}.${c.table}.${c.column}`;
    result.places.add(place);
    const value = c.type === 'bytea' ? sql.ref(c.column) : sql`${sql.ref(c.column)}::text`;
    const { rows } = await sql<{ v: string | Buffer | null }>`select ${value} as v from ${sql.table(`${c.schema}.${c.table}`)}`.execute(db);
    for (const { v } of rows) {
      if (v === null) continue;
      result.read++;
      result.findings.push(...search(v).map((what) => `${place}: ${what}`));
    }
  }
  return result;
}

/** All the bytes of a Redis reply, however nested (hashes, stream entries). */
function bytesOf(reply: unknown): Buffer[] {
  if (Buffer.isBuffer(reply)) return [reply];
  if (typeof reply === 'string' || typeof reply === 'number') return [Buffer.from(String(reply))];
  if (Array.isArray(reply)) return reply.flatMap(bytesOf);
  if (reply && typeof reply === 'object') return Object.entries(reply).flatMap(([field, value]) => [Buffer.from(field), ...bytesOf(value)]);
  return [];
}

async function readKey(redis: Redis, key: string, type: string): Promise<unknown> {
  switch (type) {
    case 'string': return redis.getBuffer(key);
    case 'hash': return redis.hgetallBuffer(key);
    case 'list': return redis.lrangeBuffer(key, 0, -1);
    case 'set': return redis.smembersBuffer(key);
    case 'zset': return redis.zrangeBuffer(key, '0', '-1', 'WITHSCORES');
    case 'stream': return redis.xrangeBuffer(key, '-', '+');
    default: return undefined;
  }
}

/**
 * Every key matching `patterns` (SCAN, never KEYS: the server is shared) and its value, of any
 * type. Each value is searched element by element (a field, a member, a stream entry's field),
 * so a needle cannot be made up of two neighbours. A type this scan cannot read is a finding.
 */
export async function scanRedis(redis: Redis, patterns: readonly string[], search: CardDataSearch): Promise<ScanResult> {
  const result: ScanResult = { findings: [], read: 0, places: new Set() };
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'none') continue; // gone since SCAN listed it
        result.read++;
        result.places.add(type);
        result.findings.push(...search(key).map((what) => `key ${key}: ${what}`));
        const reply = await readKey(redis, key, type);
        if (reply === undefined) result.findings.push(`${key}: a ${type} value this scan cannot read`);
        for (const bytes of bytesOf(reply)) result.findings.push(...search(bytes).map((what) => `${key} (${type}): ${what}`));
      }
    } while (cursor !== '0');
  }
  return result;
}
