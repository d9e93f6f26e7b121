// SP-16: card data lives in Buffers that are zeroed once used. Each test keeps references to the
// Buffers the vault code makes or hands on (a processor that keeps what it is handed, a key
// provider that keeps the data keys, test/support/buffer-tracker.ts for the rest) and checks
// them after the code returns or throws, so it fails when a `.fill(0)` is removed. JavaScript
// strings (the parsed request body's pan and cvv fields) cannot be zeroed: they are immutable and
// go when collected, so they are not checked here.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { sql } from 'kysely';
import { ManualClock, MINUTE } from '../../lib/clock.js';
import { CvvStore } from '../src/cvv-store.js';
import { openCard, rewrapDataKey, sealCard } from '../src/crypto/envelope.js';
import { DecryptionFailed } from '../src/crypto/encryption.js';
import { FileKeyProvider, type KeyProvider, type WrappedKey } from '../src/crypto/key-provider.js';
import { ProcessorUnavailable, type AuthorizeRequest, type Processor } from '../src/processor/processor.js';
import { tokenize } from '../src/tokens.service.js';
import { authorize } from '../src/authorizations.service.js';
import { BufferTracker, isZero } from '../../test/support/buffer-tracker.js';
import { canaryPan, panForms } from '../../test/support/card-canary.js';
import { pkiFile } from '../../test/support/pki.js';
import { startTestVault, type TestVault } from '../../test/support/vault.js';

const CVV = '739';
const caller = { identity: 'gateway' };
const amount = { value: 1000, currency: 'KZT' };

interface Handed {
  pan: Buffer;
  cvv: Buffer;
  /** What the Buffers held when handed over, read then (so the zero check is about these Buffers). */
  held: string;
}

/** The sandbox processor, keeping the Buffers it is handed; `failWith` makes it fail after keeping them. */
function keepingProcessor(inner: Processor, failWith?: Error): Processor & { handed: Handed[] } {
  const handed: Handed[] = [];
  return {
    name: 'keeping',
    handed,
    async authorize(request: AuthorizeRequest) {
      // Every authorization here brings a CVV (an initial one): a subsequent one has none to zero.
      if (!request.cvv) throw new Error('this processor expects a CVV with every authorization');
      handed.push({ pan: request.pan, cvv: request.cvv, held: `${request.pan.toString('latin1')}/${request.cvv.toString('latin1')}` });
      if (failWith) throw failWith;
      return inner.authorize(request);
    },
    completeChallenge: (request) => inner.completeChallenge(request),
    refund: (request) => inner.refund(request),
  };
}

/** A file key provider that keeps every data key it wraps or unwraps. */
class KeepingKeys implements KeyProvider {
  readonly dataKeys: Buffer[] = [];
  constructor(private readonly inner: KeyProvider) {}
  activeVersion(): number {
    return this.inner.activeVersion();
  }
  versions(): number[] {
    return this.inner.versions();
  }
  generation(): string {
    return this.inner.generation();
  }
  async wrap(dataKey: Buffer, context: Buffer): Promise<WrappedKey> {
    this.dataKeys.push(dataKey);
    return this.inner.wrap(dataKey, context);
  }
  async unwrap(key: WrappedKey, context: Buffer): Promise<Buffer> {
    const dataKey = await this.inner.unwrap(key, context);
    this.dataKeys.push(dataKey);
    return dataKey;
  }
}

/** Tokenizes `pan` with the CVV through the service; returns the token and the CVV store's copy of the CVV. */
async function tokenizeKeepingCvv(t: Test, vault: TestVault, pan: string, card: { expMonth: number; expYear: number } = { expMonth: 12, expYear: 2030 }) {
  const tracker = new BufferTracker();
  const view = await tracker.during(() => tokenize(vault.ctx, caller, { pan, cvv: CVV, clientRef: 'client-1', ...card }));
  const live = tracker.equalTo(CVV).filter((b) => !isZero(b));
  t.equal(live.length, 1, 'tokenize leaves one live copy of the CVV: the CVV store\'s');
  return { token: view.token, held: live[0]! };
}

t.test('SP-16: the processor is handed PAN and CVV Buffers that are zero once the authorization returns', async (t) => {
  const vault = await startTestVault(t);
  const processor = keepingProcessor(vault.ctx.processor);
  vault.ctx.processor = processor;
  const pan = canaryPan('440043', 16);
  const { body } = await vault.client.call<any>('POST', '/v1/tokens', { pan: panForms(pan).spaced, expMonth: 12, expYear: 2030, cvv: CVV, clientRef: 'client-1' });
  const authorizeOnce = async (paymentRef: string, cvv?: string) => (await vault.client.call<any>('POST', '/v1/authorizations', {
    token: body.token, clientRef: 'client-1', amount, merchant: 'm', paymentRef, ...(cvv ? { cvv } : {}),
  })).body.outcome;
  t.equal(await authorizeOnce('pay-held'), 'approved', 'with the held CVV');
  t.equal(await authorizeOnce('pay-sent', CVV), 'approved', 'with the CVV in the request');
  t.equal(processor.handed.length, 2);
  for (const [i, handed] of processor.handed.entries()) {
    t.equal(handed.held, `${pan}/${CVV}`, `authorization ${i + 1}: the processor was handed the card`);
    t.ok(isZero(handed.pan), `authorization ${i + 1}: the PAN Buffer is zero afterwards`);
    t.ok(isZero(handed.cvv), `authorization ${i + 1}: the CVV Buffer is zero afterwards`);
  }
});

t.test('SP-16: authorize zeroes the held CVV, the sent one and the PAN, whether it approves, fails or cannot decrypt', async (t) => {
  const clock = new ManualClock();
  const vault = await startTestVault(t, { clock });
  const inner = vault.ctx.processor;
  const authorizeWith = (token: string, paymentRef: string) => authorize(vault.ctx, caller, { token, clientRef: 'client-1', cvv: CVV, amount, merchant: 'm', paymentRef });

  await t.test('approved, with a CVV sent while another is held', async (t) => {
    const processor = keepingProcessor(inner);
    vault.ctx.processor = processor;
    const { token, held } = await tokenizeKeepingCvv(t, vault, canaryPan('440043', 16));
    t.equal((await authorizeWith(token, 'pay-approved')).outcome, 'approved');
    t.ok(isZero(processor.handed[0]!.pan) && isZero(processor.handed[0]!.cvv), 'what the processor was handed');
    t.ok(isZero(held), 'the held CVV, not used but taken');
  });

  await t.test('the processor fails', async (t) => {
    const processor = keepingProcessor(inner, new ProcessorUnavailable('test'));
    vault.ctx.processor = processor;
    const { token, held } = await tokenizeKeepingCvv(t, vault, canaryPan('440043', 16));
    await t.rejects(authorizeWith(token, 'pay-failed'), ProcessorUnavailable);
    t.ok(isZero(processor.handed[0]!.pan) && isZero(processor.handed[0]!.cvv), 'what the processor was handed');
    t.ok(isZero(held), 'the held CVV');
  });

  await t.test('the card does not decrypt (its tag altered)', async (t) => {
    vault.ctx.processor = inner;
    const pan = canaryPan('440043', 16);
    const { token, held } = await tokenizeKeepingCvv(t, vault, pan);
    await sql`update vault.cards set card_ciphertext = set_byte(card_ciphertext, length(card_ciphertext) - 1,
      get_byte(card_ciphertext, length(card_ciphertext) - 1) # 1) where token = ${token}`.execute(vault.db);
    const tracker = new BufferTracker();
    await t.rejects(tracker.during(() => authorizeWith(token, 'pay-undecryptable')), DecryptionFailed);
    t.ok(isZero(held), 'the held CVV');
    t.ok(tracker.equalTo(Buffer.alloc(CVV.length)).length >= 1, 'the sent CVV\'s Buffer was seen');
    t.same(tracker.equalTo(CVV), [], 'the sent CVV is zero');
    t.same(tracker.holding(pan), [], 'the decrypted card is zero');
  });

  await t.test('the card expired between tokenize and authorize (the processor is not called)', async (t) => {
    const pan = canaryPan('440043', 16);
    const { token, held } = await tokenizeKeepingCvv(t, vault, pan, { expMonth: 11, expYear: 2026 });
    clock.set('2027-01-05T10:00:00Z');
    const tracker = new BufferTracker();
    t.match(await tracker.during(() => authorizeWith(token, 'pay-expired')), { outcome: 'declined', declineReason: 'card_expired' });
    t.ok(isZero(held), 'the held CVV');
    t.same(tracker.equalTo(CVV), [], 'the sent CVV is zero');
    t.same(tracker.holding(pan), [], 'the decrypted and decoded card is zero');
  });
});

t.test('SP-16: tokenize leaves no Buffer holding the PAN, and the CVV only in the CVV store', async (t) => {
  const vault = await startTestVault(t);
  const tokenizeTracked = async (tracker: BufferTracker, pan: string) =>
    tracker.during(() => tokenize(vault.ctx, caller, { pan, cvv: CVV, expMonth: 12, expYear: 2030, clientRef: 'client-1' }));

  await t.test('a card tokenized', async (t) => {
    const pan = canaryPan('440043', 16);
    const tracker = new BufferTracker();
    const { token } = await tokenizeTracked(tracker, panForms(pan).spaced);
    t.same(tracker.holding(pan), [], 'no Buffer holds the PAN (digits, checked card, sealed plaintext)');
    const live = tracker.equalTo(CVV).filter((b) => !isZero(b));
    t.equal(live.length, 1, 'one live copy of the CVV');
    t.equal(vault.ctx.cvv.take(token), live[0], 'and it is the CVV store\'s');
  });

  await t.test('cards refused', async (t) => {
    const pan = canaryPan('440043', 16);
    const badCheckDigit = `${pan.slice(0, -1)}${(Number(pan.slice(-1)) + 1) % 10}`;
    for (const [input, digits, what] of [
      [badCheckDigit, badCheckDigit, 'a wrong check digit'],
      [`${panForms(pan).dashed}x`, pan, 'a letter after the digits'],
    ] as const) {
      const tracker = new BufferTracker();
      await t.rejects(tokenizeTracked(tracker, input), { code: 'card_invalid' });
      t.same(tracker.holding(digits), [], `${what}: no Buffer holds the digits`);
      t.same(tracker.equalTo(CVV), [], `${what}: no Buffer holds the CVV`);
    }
  });

  await t.test('the card cannot be stored', async (t) => {
    const storeCard = vault.ctx.storeCard;
    vault.ctx.storeCard = () => Promise.reject(new Error('database unavailable'));
    t.teardown(() => { vault.ctx.storeCard = storeCard; });
    const pan = canaryPan('440043', 16);
    const tracker = new BufferTracker();
    await t.rejects(tokenizeTracked(tracker, pan), /database unavailable/);
    t.equal(vault.ctx.cvv.size, 0, 'no CVV held for a card not stored');
    t.ok(tracker.equalTo(Buffer.alloc(CVV.length)).length >= 2, 'the CVV\'s Buffers (the request\'s, the store\'s copy) were seen');
    t.same(tracker.equalTo(CVV), [], 'both are zero');
    t.same(tracker.holding(pan), [], 'no Buffer holds the PAN');
  });
});

t.test('SP-16: the JSON body parser zeroes the request bytes it parsed', async (t) => {
  const vault = await startTestVault(t);
  const pan = canaryPan('440043', 16);
  const body = Buffer.from(JSON.stringify({ pan: panForms(pan).spaced, expMonth: 12, expYear: 2030, clientRef: 'client-1' }));
  const agent = new Agent({ connect: { ca: pkiFile('ca.crt'), cert: pkiFile('gateway.crt'), key: pkiFile('gateway.key') } });
  t.teardown(() => agent.close());
  const tracker = new BufferTracker();
  const status = await tracker.during(async () => {
    const res = await request(`${vault.url}/v1/tokens`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body });
    await res.body.text();
    return res.statusCode;
  });
  t.equal(status, 201);
  t.ok(tracker.equalTo(Buffer.alloc(body.length)).length >= 1, 'the request body\'s bytes, as read, are zero');
  t.same([...tracker.holding(panForms(pan).spaced), ...tracker.holding(pan)], [], 'no Buffer the server made holds the PAN, as sent or as digits');
});

t.test('SP-16: envelope encryption zeroes the data key and the plaintext, also when decryption fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-kek-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kekFile = join(dir, 'kek.json');
  writeFileSync(kekFile, JSON.stringify({ active: 1, keys: { 1: randomBytes(32).toString('base64') } }));
  const keys = new KeepingKeys(new FileKeyProvider(kekFile));
  const pan = canaryPan('440043', 16);
  const card = { pan: Buffer.from(pan), expMonth: 12, expYear: 2030 };
  const row = { token: 'tok_zero', clientRef: 'client-1' };

  const sealing = new BufferTracker();
  const sealed = await sealing.during(() => sealCard(keys, row, card));
  t.ok(isZero(keys.dataKeys[0]!), 'seal: the data key');
  t.same(sealing.holding(pan), [], 'seal: the encoded plaintext');

  const opening = new BufferTracker();
  const plain = await opening.during(() => openCard(keys, row, sealed));
  t.ok(isZero(keys.dataKeys[1]!), 'open: the data key');
  t.same(opening.holding(pan), [plain.pan], 'open: the decrypted plaintext; only the PAN handed to the caller is left');

  await rewrapDataKey(keys, row, { kekVersion: sealed.kekVersion, wrapped: sealed.dekWrapped });
  t.ok(isZero(keys.dataKeys[2]!), 'rewrap: the data key');

  const tag = sealed.cardCiphertext.length - 1;
  const altered = { ...sealed, cardCiphertext: Buffer.from(sealed.cardCiphertext) };
  altered.cardCiphertext[tag] = altered.cardCiphertext[tag]! ^ 1;
  const failing = new BufferTracker();
  await t.rejects(failing.during(() => openCard(keys, row, altered)), DecryptionFailed);
  t.ok(isZero(keys.dataKeys.at(-1)!), 'failed open: the data key');
  t.same(failing.holding(pan), [], 'failed open: the plaintext decrypted before the tag check');
});

t.test('SP-16: the CVV store zeroes its copy when it expires, is swept, replaced or cleared', async (t) => {
  const clock = new ManualClock();
  const store = new CvvStore(clock);
  const holdTracked = async (token: string, cvv: string) => {
    const given = Buffer.from(cvv);
    const tracker = new BufferTracker();
    await tracker.during(() => store.hold(token, given));
    const [copy] = tracker.equalTo(cvv);
    t.ok(copy, `the store's copy of ${cvv} was seen`);
    return copy!;
  };

  const taken = await holdTracked('tok_taken', '111');
  t.equal(store.take('tok_taken'), taken, 'take hands out the store\'s own Buffer, for the caller to zero');

  const expired = await holdTracked('tok_expired', '222');
  clock.advance(15 * MINUTE);
  t.equal(store.take('tok_expired'), undefined);
  t.ok(isZero(expired), 'expired and asked for: zeroed');

  const swept = await holdTracked('tok_swept', '333');
  clock.advance(15 * MINUTE);
  t.equal(store.sweep(), 1);
  t.ok(isZero(swept), 'swept: zeroed');

  const replaced = await holdTracked('tok_replaced', '444');
  const replacement = await holdTracked('tok_replaced', '555');
  t.ok(isZero(replaced), 'replaced: the old copy zeroed');

  store.clear();
  t.ok(isZero(replacement), 'cleared: zeroed');
});
