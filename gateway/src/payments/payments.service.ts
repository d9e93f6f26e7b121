// Starting a payment (SP-14, SP-15). Order matters: bad input, then the vault's verdict on the
// card (a foreign or unknown BIN is refused before anything is stored, SP-15.1), then ONE
// transaction that saves the card, claims it for the Almaty month (SP-15.3), creates the payment
// and sends the code bound to it (SP-15.2, SP-12): the claim, the payment, the code and the audit
// events are one statement, the whole of it for a saved card. A refusal inside rolls all of it
// back, the card's month claim included.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../../lib/uuidv7.js';
import { Secret } from '../../../lib/secret.js';
import { AuditBatch, recordAudit, type RequestOrigin } from '../audit/record.js';
import type { GatewayContext } from '../context.js';
import type { GatewayDatabase } from '../database.js';
import { DomainError } from '../errors.js';
import { deliverOtp, prepareOtp, storeOtpWhere } from '../identity/otp.service.js';
import { DEFAULT_SMS_LANGUAGE, paymentSmsText, type SmsLanguage } from '../identity/sms-texts.js';
import { cardMonthClaim } from './card-limit.js';
import type { CardIdentity } from './idempotency.js';
import { findClientCard, saveEnteredCard } from './cards.repository.js';
import { insertClaimedPayment } from './payments.repository.js';
import type { CreatePaymentBody, PaymentView } from './payments.schema.js';
import { toView } from './payments.view.js';
import { validatePaymentTarget, type Provider } from './providers.service.js';
import { tokenize, type TokenizedCard } from './vault-api.js';

export const PAYMENT_WINDOW_MS = 15 * 60_000;

export interface Payer {
  id: string;
  phone: string;
  /** The client's SMS language; Kazakh, the bank's default, when the caller does not know it. */
  language?: SmsLanguage;
}

type CardPlan =
  | { source: 'entered'; card: TokenizedCard }
  | { source: 'saved'; cardId: string; fingerprint: string; brand: string; last4: string };

/** The SMS names what the code approves (SP-15.2): amount, payee and card; the code is its only 6-digit number. */
export function paymentSms(code: string, amount: { value: number; currency: string }, payee: string, last4: string, language: SmsLanguage = DEFAULT_SMS_LANGUAGE): string {
  return paymentSmsText(language, code, amount, payee, last4, PAYMENT_WINDOW_MS / 60_000);
}

function notExpired(expMonth: number, expYear: number, now: Date): boolean {
  return expYear > now.getUTCFullYear() || (expYear === now.getUTCFullYear() && expMonth >= now.getUTCMonth() + 1);
}

async function refused(ctx: GatewayContext, origin: RequestOrigin, payer: Payer, reason: string, targets: { cardId?: string } = {}) {
  await recordAudit(ctx.db, ctx.clock, origin, {
    actor: { type: 'client', id: payer.id },
    action: 'payment.create',
    outcome: 'refused',
    targets: { clientId: payer.id, ...targets },
    details: { reason },
  });
}

async function planCard(ctx: GatewayContext, origin: RequestOrigin, payer: Payer, card: CreatePaymentBody['card']): Promise<CardPlan> {
  const entered = card.number !== undefined || card.expMonth !== undefined || card.expYear !== undefined || card.cvv !== undefined;
  if (card.cardId !== undefined) {
    if (entered) throw new DomainError('validation_failed', 'give either card.cardId or the card\'s number, expiry and CVV, not both');
    const saved = await findClientCard(ctx.db, payer.id, card.cardId);
    // Another client's card is "not found", never "forbidden": its existence is not revealed.
    if (!saved) throw new DomainError('not_found', 'no such saved card');
    if (saved.status === 'blocked') {
      await refused(ctx, origin, payer, 'card_blocked', { cardId: saved.id });
      throw new DomainError('card_blocked', 'this card was reported lost and is blocked');
    }
    if (!notExpired(saved.exp_month, saved.exp_year, ctx.clock.now())) throw new DomainError('card_expired', 'the card has expired');
    return { source: 'saved', cardId: saved.id, fingerprint: saved.fingerprint, brand: saved.brand, last4: saved.last4 };
  }
  if (card.number === undefined || card.expMonth === undefined || card.expYear === undefined || card.cvv === undefined) {
    throw new DomainError('validation_failed', 'a new card needs number, expMonth, expYear and cvv');
  }
  try {
    const tokenized = await tokenize(ctx.vault, {
      number: new Secret(card.number), expMonth: card.expMonth, expYear: card.expYear, cvv: new Secret(card.cvv),
    }, payer.id);
    return { source: 'entered', card: tokenized };
  } catch (err) {
    if (err instanceof DomainError && err.status < 500) await refused(ctx, origin, payer, err.code);
    throw err;
  }
}

/** The provider and the card checked (an entered card tokenized by the vault); nothing stored yet. */
export interface PreparedPayment {
  provider: Provider;
  plan: CardPlan;
}

export async function preparePayment(ctx: GatewayContext, origin: RequestOrigin, payer: Payer, body: CreatePaymentBody): Promise<PreparedPayment> {
  const provider = await validatePaymentTarget(ctx.db, body);
  return { provider, plan: await planCard(ctx, origin, payer, body.card) };
}

/**
 * What tells this card from another in an Idempotency-Key digest: the vault's fingerprint and the
 * expiry of an entered card (known only after tokenize), or the saved card's id. Never the CVV. The
 * first is the active fingerprint's; during a fingerprint key rotation the card's other fingerprint
 * gives a second, so a retry of a request first digested under the other version is the same request.
 */
export function cardIdentities({ plan }: PreparedPayment): { identity: CardIdentity; alternates: CardIdentity[] } {
  if (plan.source === 'saved') return { identity: { cardId: plan.cardId }, alternates: [] };
  const { card } = plan;
  const of = (fingerprint: string): CardIdentity => ({ fingerprint, expMonth: card.expMonth, expYear: card.expYear });
  return { identity: of(card.fingerprint), alternates: card.otherFingerprints.map(of) };
}

/** A merchant's checkout session the payment pays: the SMS names the merchant, the payment links to both. */
export interface CheckoutPayee {
  merchantId: string;
  merchantName: string;
  checkoutSessionId: string;
}

export interface CreatePaymentOptions {
  /** Runs last in the payment's transaction: a throw rolls the payment back with everything else. */
  inTransaction?: (trx: Kysely<GatewayDatabase>, view: PaymentView) => Promise<void>;
  /** preparePayment's answer, when the caller needed the card first. */
  prepared?: PreparedPayment;
  checkout?: CheckoutPayee;
}

/** Starts the payment. */
export async function createPayment(
  ctx: GatewayContext,
  origin: RequestOrigin,
  payer: Payer,
  body: CreatePaymentBody,
  opts: CreatePaymentOptions = {},
): Promise<PaymentView> {
  const { provider, plan } = opts.prepared ?? await preparePayment(ctx, origin, payer, body);
  const now = ctx.clock.now();
  const paymentId = uuidv7(now);
  const actor = { type: 'client' as const, id: payer.id };
  const expiresAt = new Date(now.getTime() + PAYMENT_WINDOW_MS);
  // The start's statements: in a transaction when an entered card is saved first or the caller
  // adds its own; a saved card's plain start is the one statement of insertClaimedPayment.
  const start = async (db: Kysely<GatewayDatabase>) => {
    const audit = new AuditBatch(ctx.clock, origin);
    let card: { id: string; brand: string; last4: string; fingerprint: string };
    if (plan.source === 'entered') {
      const saved = await saveEnteredCard(db, payer.id, plan.card, now);
      if (saved.status === 'blocked') throw new DomainError('card_blocked', 'this card was reported lost and is blocked');
      card = { id: saved.id, brand: saved.brand, last4: saved.last4, fingerprint: plan.card.fingerprint };
      if (saved.inserted) {
        audit.add({
          actor, action: 'card.saved', outcome: 'success',
          targets: { clientId: payer.id, cardId: card.id, fingerprintPrefix: card.fingerprint.slice(0, 12) },
          details: { brand: plan.card.brand, bin6: plan.card.bin6, last4: card.last4, issuerCountry: plan.card.issuerCountry },
        });
      }
    } else {
      card = { id: plan.cardId, brand: plan.brand, last4: plan.last4, fingerprint: plan.fingerprint };
    }
    // The SMS caps are charged before the card's month claim is known (both go in one statement
    // below): a 4th card's refusal has then used one SMS of the caps, never more than a payment would.
    const otp = await prepareOtp(ctx, {
      purpose: 'payment', subjectId: paymentId, clientId: payer.id, phone: payer.phone, ...(origin.ip ? { ip: origin.ip } : {}),
      message: (code) => paymentSms(code, body.amount, opts.checkout?.merchantName ?? provider.name, card.last4, payer.language),
    });
    audit.add({
      actor, action: 'payment.created', outcome: 'success',
      targets: { clientId: payer.id, paymentId, cardId: card.id },
      details: {
        providerId: provider.id, amount: body.amount.value, currency: body.amount.currency, cardSource: plan.source,
        ...(opts.checkout ? { merchantId: opts.checkout.merchantId, checkoutSessionId: opts.checkout.checkoutSessionId } : {}),
      },
    });
    audit.add({
      actor, action: 'payment.code_sent', outcome: 'success',
      targets: { clientId: payer.id, paymentId }, details: { otpId: otp.issued.otpId },
    });
    const payment = await insertClaimedPayment(db, {
      id: paymentId, clientId: payer.id, providerId: provider.id, cardId: card.id, cardSource: plan.source,
      amount: body.amount.value, currency: body.amount.currency, params: body.params as Record<string, string>, now, expiresAt,
      ...(opts.checkout ? { merchantId: opts.checkout.merchantId, checkoutSessionId: opts.checkout.checkoutSessionId } : {}),
    }, cardMonthClaim(payer.id, card.fingerprint, now, plan.source === 'entered' ? plan.card.otherFingerprints : []), (guard) => storeOtpWhere(otp, guard), audit.take());
    if (!payment) throw new DomainError('card_limit_reached', 'at most 3 different cards can be used in one calendar month (SP-15.3)');
    const view = toView({ ...payment, provider_name: provider.name, brand: card.brand, last4: card.last4 });
    if (opts.inTransaction) await opts.inTransaction(db, view);
    return { view, otp: otp.issued };
  };
  try {
    const created = plan.source === 'saved' && !opts.inTransaction ? await start(ctx.db) : await ctx.db.transaction().execute(start);
    // After the commit: a slow SMS provider holds no connection and no lock (see deliverOtp).
    await deliverOtp(ctx, origin, created.otp, { actor, targets: { clientId: payer.id, paymentId } });
    return created.view;
  } catch (err) {
    if (err instanceof DomainError && (err.code === 'card_limit_reached' || err.code === 'card_blocked')) {
      await refused(ctx, origin, payer, err.code);
    }
    throw err;
  }
}
