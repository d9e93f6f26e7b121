// Access logging (PCI DSS 10.2, SP-21): every tokenize, authorization, challenge, refund, key
// rotation and refused caller becomes an audit event in vault.audit_outbox, written with the
// same transaction as the change; a tokenize or authorization that fails is recorded after its
// transaction rolled back. Events name the token, a fingerprint prefix and the caller's
// certificate identity; the event schema itself refuses PAN/CVV-named fields.
import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { appendAuditEvent } from '../../lib/audit/outbox.js';
import { makeAuditEvent, type AuditEvent } from '../../lib/audit/event.js';
import { problemCode, VAULT_ERROR_STATUS } from './errors.js';

export interface Caller {
  identity: string;
  ip?: string;
  requestId?: string;
}

const ID = /^[A-Za-z0-9._:@+-]{1,128}$/;

export interface VaultAuditInput {
  action: string;
  outcome: AuditEvent['outcome'];
  targets?: AuditEvent['targets'];
  details?: NonNullable<AuditEvent['details']>;
}

export const fingerprintPrefix = (fingerprint: string) => fingerprint.slice(0, 12);

const onRecord = new WeakSet<Caller>();

/** True once an event names this caller (its request's one record is written or being written). */
export function callerAudited(caller: Caller): boolean {
  return onRecord.has(caller);
}

/** The event for one vault access, stamped by the vault's clock and validated. */
export function vaultAuditEvent(clock: Clock, caller: Caller, input: VaultAuditInput): AuditEvent {
  onRecord.add(caller);
  // A refused peer's certificate name may be anything; only a well-formed one becomes the actor id.
  const idOk = ID.test(caller.identity);
  const details = { ...(input.details ?? {}), ...(idOk ? {} : { peer: caller.identity.slice(0, 200) }) };
  return makeAuditEvent({
    component: 'vault',
    actor: idOk ? { type: 'system', id: caller.identity } : { type: 'system' },
    action: input.action,
    outcome: input.outcome,
    targets: input.targets ?? {},
    ...(caller.ip ? { ip: caller.ip } : {}),
    ...(caller.requestId ? { requestId: caller.requestId } : {}),
    ...(Object.keys(details).length ? { details } : {}),
  }, clock.now());
}

/** Appends the event to vault.audit_outbox; pass the business transaction as `db`. */
export async function recordVaultAudit(db: Kysely<any>, clock: Clock, caller: Caller, input: VaultAuditInput): Promise<void> {
  await appendAuditEvent(db, 'vault', vaultAuditEvent(clock, caller, input));
}

/**
 * Records a tokenize or authorization that ended in `err`, in its own statement: whatever the
 * attempt wrote in its transaction (its event included) rolled back, so this is its one event,
 * and a success pays nothing for it. `reason` is the code the caller is answered with; `refused`
 * when the vault said no to the request, `failure` when it could not carry it out. If this write
 * fails too, its error is the one that propagates: an access that left no record is answered as
 * an internal error, never as an ordinary refusal.
 */
export async function recordVaultFailure(
  db: Kysely<any>, clock: Clock, caller: Caller, input: Omit<VaultAuditInput, 'outcome'>, err: unknown,
): Promise<void> {
  const reason = problemCode(err);
  await recordVaultAudit(db, clock, caller, {
    ...input,
    outcome: VAULT_ERROR_STATUS[reason] < 500 ? 'refused' : 'failure',
    // Only the error's class (KeyError, DecryptionFailed…): a message may name things an event must not hold.
    details: { ...input.details, reason, ...(reason === 'internal_error' && err instanceof Error ? { error: err.name } : {}) },
  });
}
