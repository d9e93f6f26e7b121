// SP-16 / PCI DSS 3.2.1: the vault keeps no card data the gateway no longer uses. A card the client
// removes is deleted in the vault right after the removal commits, or by the payments sweep when
// the vault was down; a card refused by SP-15.3 and one whose first payment never completed are
// deleted by the vault's own retention sweep after their window, and the gateway never offers
// them as saved cards. The vault's schema is read here only to prove what it holds.
import t from 'tap';
import { sql } from 'kysely';
import { HOUR, ManualClock, MINUTE } from '../../../lib/clock.js';
import { VaultUnavailable, type VaultClient } from '../../../lib/vault-client.js';
import { auditEvents } from '../../../test/support/clients.js';
import { buildTestGateway } from '../../../test/support/gateway.js';
import { startTestVault } from '../../../test/support/vault.js';
import { deleteUnusedCards, RETENTION_WINDOW_MS } from '../../../vault/src/retention.js';
import { retryCardPurges } from '../../src/payments/card-purge.js';
import { confirm, create, entered, kzCard, newClient, pay, paymentBody, relogin, type Client } from './world.js';
import { lastSmsCode } from '../../../test/support/clients.js';

const clock = new ManualClock('2026-11-24T10:00:00Z');
const vault = await startTestVault(t, { clock });
let vaultDown = false;
// The gateway's real vault client, which a test can cut off like a vault that is down.
const switchable: VaultClient = {
  call: async (...args) => {
    if (vaultDown) throw new VaultUnavailable('ECONNREFUSED');
    return vault.client.call(...args);
  },
  healthy: async () => !vaultDown && vault.client.healthy(),
  close: async () => undefined,
};
const gw = await buildTestGateway(t, {
  vault: switchable, clock,
  env: { PAYMENTS_SWEEP_INTERVAL_MS: '0', RATE_LIMIT_MAX: '100000', OTP_MAX_PER_CLIENT_PHONE_HOUR: '1000' },
});
const log = gw.app.log;

async function vaultCard(token: string) {
  return vault.db.selectFrom('vault.cards').select(['card_ciphertext', 'dek_wrapped', 'fingerprint', 'deletion_reason'])
    .where('token', '=', token).executeTakeFirstOrThrow();
}
async function vaultCardsOf(clientId: string) {
  return vault.db.selectFrom('vault.cards').select(['token', 'card_ciphertext', 'deletion_reason']).where('client_ref', '=', clientId).execute();
}
async function gatewayToken(cardId: string): Promise<string> {
  return (await gw.db.selectFrom('gateway.cards').select('token').where('id', '=', cardId).executeTakeFirstOrThrow()).token;
}
async function purgeMarks(clientId: string) {
  return (await sql<{ token: string; attempts: number }>`select token, attempts from gateway.card_purges where client_id = ${clientId}`.execute(gw.db)).rows;
}
const listCards = async (c: Client) => (await gw.app.inject({ method: 'GET', url: '/v1/cards', headers: c.auth })).json().data as any[];
const removeCard = (c: Client, id: string) => gw.app.inject({ method: 'DELETE', url: `/v1/cards/${id}`, headers: c.auth });

t.test('SP-16 / PCI DSS 3.2.1: a card the client removes has no data left in the vault; its payments stay readable, masked', async (t) => {
  const c = await newClient(gw);
  const paid = await pay(gw, c, entered(kzCard()));
  t.equal(paid.confirmed.status, 'succeeded');
  const cards = await listCards(c);
  t.equal(cards.length, 1);
  const token = await gatewayToken(cards[0].id);
  t.ok((await vaultCard(token)).card_ciphertext, 'the saved card is in the vault');

  t.equal((await removeCard(c, cards[0].id)).statusCode, 204);
  t.same(await vaultCard(token), { card_ciphertext: null, dek_wrapped: null, fingerprint: null, deletion_reason: 'client_removed' });
  t.same(await listCards(c), []);
  t.same(await purgeMarks(c.clientId), [], 'nothing left to purge');
  t.equal((await auditEvents(gw, 'card.vault_purged')).filter((e) => e.targets.cardId === cards[0].id).length, 1);
  const payments = (await gw.app.inject({ method: 'GET', url: '/v1/payments', headers: c.auth })).json().data;
  t.equal(payments.length, 1);
  t.match(payments[0], { id: paid.created.id, status: 'succeeded', card: { last4: cards[0].last4 } }, 'the payment is still shown, masked');
  t.equal((await gw.app.inject({ method: 'GET', url: `/v1/payments/${paid.created.id}`, headers: c.auth })).statusCode, 200);
});

t.test('SP-16: a removal survives a vault outage and the payments sweep deletes the card data once the vault is back', async (t) => {
  const c = await newClient(gw);
  t.equal((await pay(gw, c, entered(kzCard()))).confirmed.status, 'succeeded');
  const [card] = await listCards(c);
  const token = await gatewayToken(card.id);
  vaultDown = true;
  t.teardown(() => { vaultDown = false; });
  t.equal((await removeCard(c, card.id)).statusCode, 204, 'the removal does not wait for the vault');
  t.same(await listCards(c), []);
  t.ok((await vaultCard(token)).card_ciphertext, 'the vault could not be told yet');
  t.equal(await retryCardPurges(gw.ctx, clock.now(), log), 0, 'a purge just tried waits for its grace period');
  clock.advance(2 * MINUTE);
  t.equal(await retryCardPurges(gw.ctx, clock.now(), log), 0, 'still down');
  const [mark] = await purgeMarks(c.clientId);
  t.equal(mark?.attempts, 1, 'the failed attempt is counted');
  vaultDown = false;
  clock.advance(2 * MINUTE);
  t.equal(await retryCardPurges(gw.ctx, clock.now(), log), 1);
  t.equal((await vaultCard(token)).card_ciphertext, null);
  t.same(await purgeMarks(c.clientId), []);
  clock.advance(2 * MINUTE);
  t.equal(await retryCardPurges(gw.ctx, clock.now(), log), 0, 'done once');
});

t.test('SP-16: an open payment with a card removed after it started fails at confirm with card_removed', async (t) => {
  let c = await newClient(gw);
  t.equal((await pay(gw, c, entered(kzCard()))).confirmed.status, 'succeeded');
  const [card] = await listCards(c);
  const open = await create(gw, c, paymentBody({ cardId: card.id }));
  t.equal(open.statusCode, 201);
  const code = await lastSmsCode(gw, c.phone);
  t.equal((await removeCard(c, card.id)).statusCode, 204);
  const res = await confirm(gw, c, open.json().id, code, '123');
  t.equal(res.statusCode, 422);
  t.equal(res.json().code, 'card_removed');
  t.same(await vault.db.selectFrom('vault.authorizations').select('id').where('payment_ref', '=', open.json().id).execute(), [],
    'nothing was authorized');
  t.equal((await create(gw, c, paymentBody({ cardId: card.id }))).statusCode, 404, 'a removed card cannot start a payment');
  c = await relogin(gw, c);
  t.equal((await gw.app.inject({ method: 'GET', url: `/v1/payments/${open.json().id}`, headers: c.auth })).json().status, 'requires_confirmation');
});

t.test('SP-16, SP-15.3: a card refused by the 3-cards rule and a first payment that expired leave no card data in the vault after the window', async (t) => {
  clock.set('2026-11-25T10:00:00Z');
  let c = await newClient(gw);
  for (let i = 0; i < 3; i++) t.equal((await pay(gw, c, entered(kzCard()))).confirmed.status, 'succeeded');
  const fourth = await create(gw, c, paymentBody(entered(kzCard())));
  t.equal(fourth.json().code, 'card_limit_reached');
  const other = await newClient(gw);
  const expiring = await create(gw, other, paymentBody(entered(kzCard())));
  t.equal(expiring.statusCode, 201);
  t.same(await listCards(other), [], 'a card whose first payment is not approved is not offered as saved');
  t.equal((await create(gw, other, paymentBody({ cardId: expiring.json().card?.id ?? (await firstCardId(other.clientId)) }))).statusCode, 404,
    'nor payable by its id');

  const live = async (clientId: string) => (await vaultCardsOf(clientId)).filter((r) => r.card_ciphertext !== null);
  t.equal((await live(c.clientId)).length, 4, 'the refused card was tokenized before SP-15.3 refused it');
  t.equal((await live(other.clientId)).length, 1);
  clock.advance(RETENTION_WINDOW_MS - HOUR);
  await deleteUnusedCards(vault.ctx);
  t.equal((await live(c.clientId)).length, 4, 'within the window everything stays');
  clock.advance(2 * HOUR);
  await deleteUnusedCards(vault.ctx);
  t.equal((await live(c.clientId)).length, 3, 'the three approved cards stay');
  t.same((await vaultCardsOf(c.clientId)).filter((r) => r.card_ciphertext === null).map((r) => r.deletion_reason), ['never_used']);
  t.same(await live(other.clientId), [], 'the expired first payment\'s card is gone');
  c = await relogin(gw, c);
  t.equal((await listCards(c)).length, 3);
  const viewed = await gw.app.inject({ method: 'GET', url: `/v1/payments/${expiring.json().id}`, headers: (await relogin(gw, other)).auth });
  t.equal(viewed.json().status, 'expired', 'the payment stays readable');
});

t.test('SP-16: a card is offered as saved only after its first approved payment; re-entering it retires the old token in the vault', async (t) => {
  const c = await newClient(gw);
  const pan = kzCard();
  const first = await create(gw, c, paymentBody(entered(pan)));
  t.same(await listCards(c), [], 'not before');
  const code = await lastSmsCode(gw, c.phone);
  t.equal((await confirm(gw, c, first.json().id, code)).json().status, 'succeeded');
  const [card] = await listCards(c);
  t.ok(card, 'listed once approved');
  const oldToken = await gatewayToken(card.id);
  t.equal((await pay(gw, c, entered(pan, { cvv: '456' }))).confirmed.status, 'succeeded');
  const newToken = await gatewayToken(card.id);
  t.not(newToken, oldToken);
  t.equal((await listCards(c)).length, 1);
  clock.advance(2 * MINUTE);
  await retryCardPurges(gw.ctx, clock.now(), log);
  t.equal((await vaultCard(oldToken)).card_ciphertext, null, 'the replaced token\'s data is deleted');
  t.ok((await vaultCard(newToken)).card_ciphertext, 'the current one stays');
});

async function firstCardId(clientId: string): Promise<string> {
  return (await gw.db.selectFrom('gateway.cards').select('id').where('client_id', '=', clientId).executeTakeFirstOrThrow()).id;
}
