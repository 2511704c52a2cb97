/**
 * The deadline behind the time-to-first-token and idle timeouts.
 *
 * @module
 */

/** Why the watchdog fired. */
export type Timeout = 'first-token' | 'idle';

/**
 * One timer at a time, racing whatever the provider loop awaits from upstream. When it fires it
 * aborts the attempt's controller (so the SDK closes the connection) and rejects the raced wait.
 */
export class Watchdog {
  /** Which deadline fired, once one has. */
  fired: Timeout | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  #deadline: Promise<never> | undefined;
  readonly #controller: AbortController;

  constructor(controller: AbortController) {
    this.#controller = controller;
  }

  /** Starts a deadline of `ms` (replacing any running one). */
  arm(ms: number, kind: Timeout): void {
    this.disarm();
    this.#deadline = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    // Nobody may be racing it when it fires; the loop reads `fired` instead.
    this.#deadline.catch(() => undefined);
    this.#timer = setTimeout(() => {
      this.fired = kind;
      this.#controller.abort(new DOMException(`The ${kind} timeout of ${ms} ms fired.`, 'TimeoutError'));
      this.#reject?.(new DOMException('timeout', 'TimeoutError'));
    }, ms);
  }

  /** Stops the running deadline. */
  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#deadline = undefined;
    this.#reject = undefined;
  }

  /** `promise`, or a rejection as soon as the running deadline fires. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#deadline === undefined) return promise;
    // The losing promise settles later (the abort makes it); nothing must observe that.
    promise.catch(() => undefined);
    return Promise.race([promise, this.#deadline]);
  }
}
