// Tokenize (SP-15.1, SP-16): check the card, refuse non-Kazakhstan issuers, encrypt PAN and expiry
// under a fresh data key, store the row and its audit event in one statement (shared with the
// cards tokenized at the same moment: storage/group-commit.ts), and hold a CVV
// (if given) in memory only. Nothing is stored for a refused card; its one audit event is written
// after the refusal (recordVaultFailure). Tokens are random, never derived from the PAN; the
// fingerprint is the keyed HMAC.
import { randomBytes } from './crypto/random.js';
import { checkCard } from './card-number.js';
import { sealCard } from './crypto/envelope.js';
import type { AuditEvent } from '../../lib/audit/event.js';
import { fingerprintPrefix, recordVaultFailure, vaultAuditEvent, type Caller } from './audit.js';
import { VaultError } from './errors.js';
import type { VaultContext } from './context.js';
import type { TokenizeBody, TokenView } from './tokens.schema.js';

type AuditTargets = AuditEvent['targets'];

export const newToken = () => `tok_${randomBytes(16).toString('base64url')}`;

export async function tokenize(ctx: VaultContext, caller: Caller, input: TokenizeBody): Promise<TokenView> {
  const known: AuditTargets = {};
  try {
    return await sealAndStore(ctx, caller, input, known);
  } catch (err) {
    await recordVaultFailure(ctx.db, ctx.clock, caller, { action: 'vault.card.tokenize', targets: known }, err);
    throw err;
  }
}

/**
 * Everything but the failure event. `known` collects what that event may name: the fingerprint
 * prefix once computed, never a token (none was issued).
 */
async function sealAndStore(ctx: VaultContext, caller: Caller, input: TokenizeBody, known: AuditTargets): Promise<TokenView> {
  const now = ctx.clock.now();
  const card = checkCard(input, ctx.brands, now);
  if (!card.ok) throw new VaultError(card.code, card.reason);
  const cvv = input.cvv === undefined ? undefined : Buffer.from(input.cvv, 'latin1');
  try {
    const issuer = ctx.bins.lookup(card.pan);
    if (!issuer || issuer.country !== 'KZ') {
      throw new VaultError('card_not_kz', 'only cards issued in Kazakhstan are accepted');
    }
    const token = newToken();
    const fingerprints = ctx.fingerprint.all(card.pan);
    const { fingerprint } = fingerprints;
    known.fingerprintPrefix = fingerprintPrefix(fingerprint);
    const sealed = await sealCard(ctx.keys, { token, clientRef: input.clientRef }, card);
    // A full CVV store (a flood) only means the client types the CVV again at authorization.
    const cvvHeld = cvv !== undefined && ctx.cvv.hold(token, cvv);
    const event = vaultAuditEvent(ctx.clock, caller, {
      action: 'vault.card.tokenize',
      outcome: 'success',
      targets: { cardToken: token, fingerprintPrefix: fingerprintPrefix(fingerprint), keyVersion: sealed.kekVersion },
      details: { brand: card.brand, cvvHeld },
    });
    await ctx.storeCard({ row: {
      token,
      client_ref: input.clientRef,
      fingerprint,
      fingerprint_version: fingerprints.version,
      // Kept for the gateway's translation only while the other version is the older one.
      previous_fingerprint: fingerprints.other && fingerprints.other.version < fingerprints.version ? fingerprints.other.fingerprint : null,
      brand: card.brand,
      bin6: card.bin6,
      last4: card.last4,
      issuer_country: issuer.country,
      card_ciphertext: sealed.cardCiphertext,
      dek_wrapped: sealed.dekWrapped,
      kek_version: sealed.kekVersion,
      created_at: now,
    }, event }).catch((err: unknown) => {
      ctx.cvv.take(token)?.fill(0);
      throw err;
    });
    return {
      token, fingerprint, fingerprintVersion: fingerprints.version,
      otherFingerprints: fingerprints.other ? [fingerprints.other.fingerprint] : [],
      brand: card.brand, bin6: card.bin6, last4: card.last4,
      issuerCountry: issuer.country, expMonth: card.expMonth, expYear: card.expYear,
    };
  } finally {
    card.pan.fill(0);
    cvv?.fill(0);
  }
}
