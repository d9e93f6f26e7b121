// One delivery attempt: read the delivery (no row lock: nothing is held while the merchant's server
// answers), POST the signed event, record the attempt. A non-2xx answer or a network error throws,
// so the queue retries with back-off; past the retry window the delivery is marked failed.
import { request, type Dispatcher } from 'undici';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import type { GatewayDatabase } from '../database.js';
import { openSecret } from './secret-box.js';
import { signWebhook } from './signing.js';

export interface DeliveryDeps {
  db: Kysely<GatewayDatabase>;
  secretKey: Buffer;
  /** The guarded agent for the endpoint's key mode and protocol (outbound.ts). */
  dispatcherFor: (target: { livemode: boolean; protocol: string }) => Dispatcher;
  timeoutMs: number;
  now: () => Date;
}

export class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}

const EXCERPT = 200;

export async function attemptDelivery(deps: DeliveryDeps, deliveryId: string, finalAttempt: boolean): Promise<'succeeded' | 'skipped'> {
  const row = await deps.db.selectFrom('gateway.webhook_deliveries as d')
    .innerJoin('gateway.webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('gateway.merchant_events as m', 'm.id', 'd.event_id')
    .select(['d.status', 'e.id as endpointId', 'e.url', 'e.livemode', 'e.secret_sealed', 'e.previous_secret_sealed', 'e.previous_secret_expires_at',
      'e.disabled_at', 'm.id as eventId', 'm.type', 'm.data', 'm.created_at'])
    .where('d.id', '=', deliveryId).executeTakeFirst();
  if (!row || row.status !== 'pending' || row.disabled_at) return 'skipped';
  const sentAt = deps.now();
  const secrets = [openSecret(deps.secretKey, row.endpointId, row.secret_sealed)];
  if (row.previous_secret_sealed && row.previous_secret_expires_at && row.previous_secret_expires_at > sentAt) {
    secrets.push(openSecret(deps.secretKey, row.endpointId, row.previous_secret_sealed));
  }
  const body = JSON.stringify({ id: row.eventId, type: row.type, createdAt: row.created_at.toISOString(), data: row.data });
  const started = performance.now();
  let statusCode: number | null = null;
  let errorClass: string | null = null;
  let excerpt: string | null = null;
  try {
    const res = await request(row.url, {
      method: 'POST', body, dispatcher: deps.dispatcherFor({ livemode: row.livemode, protocol: new URL(row.url).protocol }),
      headers: { 'content-type': 'application/json', ...signWebhook(secrets, row.eventId, sentAt, body) },
      headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs, maxRedirections: 0,
    } as Parameters<typeof request>[1]);
    statusCode = res.statusCode;
    excerpt = (await res.body.text()).slice(0, EXCERPT) || null;
    if (statusCode < 200 || statusCode >= 300) errorClass = 'http_status';
  } catch (err) {
    errorClass = (err as { code?: string }).code ?? (err as Error).name;
  }
  const ok = errorClass === null;
  await deps.db.transaction().execute(async (trx) => {
    await trx.insertInto('gateway.webhook_attempts').values({
      id: uuidv7(sentAt), delivery_id: deliveryId, started_at: sentAt, duration_ms: Math.round(performance.now() - started),
      status_code: statusCode, error_class: errorClass, response_excerpt: excerpt,
    }).execute();
    await trx.updateTable('gateway.webhook_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        ...(ok ? { status: 'succeeded' as const, completed_at: deps.now() } : finalAttempt ? { status: 'failed' as const, completed_at: deps.now() } : {}),
      }))
      .where('id', '=', deliveryId).where('status', '=', 'pending').execute();
  });
  if (!ok) throw new DeliveryFailed(errorClass ?? 'failed');
  return 'succeeded';
}
