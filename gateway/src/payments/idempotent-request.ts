// One Idempotency-Key request from claim to answer, for every route that takes the header (a
// client's payment, a merchant's session or refund): claim the key, replay a stored answer, or run
// the request, which stores its answer with `finish` in the transaction that makes its change.
// Refusals a retry with the same key cannot change are stored and replayed too; transient ones
// (409, 429, 5xx) free the key.
import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError, problemBody } from '../errors.js';
import { beginIdempotent, finishIdempotent, releaseIdempotent, type IdempotencyOwner } from './idempotency.js';

export interface Replayed {
  replayed: true;
  status: number;
  body: unknown;
}

/** Stores the answer to replay; call it in the transaction that makes the change. */
export type FinishIdempotent = (trx: Kysely<GatewayDatabase>, status: number, body: unknown) => Promise<void>;

function replayable(err: unknown): err is DomainError {
  return err instanceof DomainError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429
    && err.code !== 'unauthorized';
}

export function isReplayed(value: unknown): value is Replayed {
  return typeof value === 'object' && value !== null && (value as Partial<Replayed>).replayed === true;
}

export async function idempotently<T>(
  ctx: GatewayContext,
  input: { owner: IdempotencyOwner; key: string; hash: Buffer; alternates?: readonly Buffer[] },
  run: (finish: FinishIdempotent) => Promise<T>,
): Promise<T | Replayed> {
  const started = await beginIdempotent(ctx.db, { ...input, now: ctx.clock.now() });
  if (started.kind === 'conflict') throw new DomainError('idempotency_conflict', started.detail);
  if (started.kind === 'replay') return { replayed: true, status: started.status, body: started.body };
  const slot = { owner: input.owner, key: input.key, lockedAt: started.lockedAt };
  try {
    return await run((trx, status, body) => finishIdempotent(trx, { ...slot, status, body }));
  } catch (err) {
    if (replayable(err)) {
      await finishIdempotent(ctx.db, { ...slot, status: err.status, body: problemBody(err.code, err.message) });
    } else {
      await releaseIdempotent(ctx.db, slot);
    }
    throw err;
  }
}

/**
 * Sends a stored answer as it was first sent, marked `idempotent-replayed: true`. The stored body
 * is what the route answered the first time, so it fits the route's schema.
 */
export function sendReplay<B>(reply: FastifyReply, replay: Replayed, body: B = replay.body as B) {
  reply.header('idempotent-replayed', 'true');
  if (replay.status >= 400) return reply.code(replay.status).type('application/problem+json').send(body as ReturnType<typeof problemBody>);
  return reply.code(replay.status).send(body);
}
