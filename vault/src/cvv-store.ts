// SP-16: the CVV is never written anywhere. Between tokenize and authorize it is held here, in
// this process's memory only, for at most 15 minutes (the confirmation window), and zeroed when
// taken, replaced, expired or at shutdown. A vault restart loses it by design: the authorization
// then answers cvv_required and the client types the CVV again, unless the card has an approved
// payment to be charged on file with (SP-14.2).
import type { Clock } from '../../lib/clock.js';

export const CVV_HOLD_MS = 15 * 60_000;

interface Held {
  cvv: Buffer;
  expiresAt: number;
}

export class CvvStore {
  readonly #held = new Map<string, Held>();

  constructor(private readonly clock: Clock, private readonly maxHeld = 100_000, private readonly holdMs = CVV_HOLD_MS) {}

  get size(): number {
    return this.#held.size;
  }

  /** Holds a copy of `cvv` for `token`; the caller zeroes its own Buffer. False when full. */
  hold(token: string, cvv: Buffer): boolean {
    this.#drop(token);
    if (this.#held.size >= this.maxHeld) this.sweep();
    if (this.#held.size >= this.maxHeld) return false;
    this.#held.set(token, { cvv: Buffer.from(cvv), expiresAt: this.clock.now().getTime() + this.holdMs });
    return true;
  }

  /** Removes and returns the held CVV (the caller zeroes it), or undefined if none or expired. */
  take(token: string): Buffer | undefined {
    const held = this.#held.get(token);
    if (!held) return undefined;
    this.#held.delete(token);
    if (held.expiresAt <= this.clock.now().getTime()) {
      held.cvv.fill(0);
      return undefined;
    }
    return held.cvv;
  }

  /**
   * Zeroes and forgets every expired CVV; runs every second in the server. Entries sit in the order
   * they were held (a replacement is deleted and re-added), which with one hold time is the order
   * they expire in, so a sweep stops at the first live one and costs only what it drops.
   */
  sweep(): number {
    const now = this.clock.now().getTime();
    let dropped = 0;
    for (const [token, held] of this.#held) {
      if (held.expiresAt > now) break;
      this.#drop(token);
      dropped++;
    }
    return dropped;
  }

  /** Zeroes everything (shutdown). */
  clear(): void {
    for (const token of [...this.#held.keys()]) this.#drop(token);
  }

  #drop(token: string): void {
    const held = this.#held.get(token);
    if (!held) return;
    held.cvv.fill(0);
    this.#held.delete(token);
  }
}
