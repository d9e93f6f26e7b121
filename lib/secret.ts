// A value that must never reach a log, an error or a response by accident (PAN, CVV, key, token).
// JSON and util.inspect print [REDACTED]; the value is read only through expose().
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

export class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  expose(): T {
    return this.#value;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
