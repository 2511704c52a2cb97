/**
 * The deadline behind the time-to-first-token and idle timeouts.
 *
 * @module
 */

/** Why the watchdog fired. */
export type Timeout = 'first-token' | 'idle';

/**
 * One deadline at a time, racing whatever the provider loop awaits from upstream. When it fires it
 * aborts the attempt's controller (so the SDK closes the connection) and rejects the raced wait.
 *
 * The idle deadline is re-armed before every upstream chunk, so arming is cheap: it only moves a
 * timestamp. One timer stays scheduled and, when it wakes early (the deadline moved on), sleeps
 * again for the rest; a new timer is made only when a deadline comes sooner than the scheduled
 * wake-up. (A timer and a promise per chunk cost about 1 µs per token, as much as encoding it.)
 */
export class Watchdog {
  /** Which deadline fired, once one has. */
  fired: Timeout | undefined;
  readonly #controller: AbortController;
  #kind: Timeout = 'first-token';
  #budgetMs = 0;
  /** When the running deadline expires (`performance.now()` time); Infinity while disarmed. */
  #deadlineAt = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the scheduled timer wakes up. */
  #wakeAt = Number.POSITIVE_INFINITY;
  /** Rejects the wait being raced now, if any. */
  #rejectWait: ((reason: unknown) => void) | undefined;

  constructor(controller: AbortController) {
    this.#controller = controller;
  }

  /** Starts a deadline of `ms` (replacing any running one). */
  arm(ms: number, kind: Timeout): void {
    if (this.fired !== undefined) return;
    this.#kind = kind;
    this.#budgetMs = ms;
    this.#deadlineAt = performance.now() + ms;
    if (this.#deadlineAt < this.#wakeAt) this.#schedule(ms);
  }

  /** Stops the running deadline (the scheduled timer, if any, finds nothing to do and stops). */
  disarm(): void {
    this.#deadlineAt = Number.POSITIVE_INFINITY;
  }

  /** Stops for good: clears the timer so it keeps nothing alive. */
  dispose(): void {
    this.disarm();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
  }

  /** `promise`, or a rejection as soon as the running deadline fires. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#deadlineAt === Number.POSITIVE_INFINITY) return promise;
    // Not Promise.race against one long-lived deadline promise: every race would leave a reaction
    // on it for the rest of the stream. One wrapper per wait, which the deadline rejects directly.
    return new Promise<T>((resolve, reject) => {
      this.#rejectWait = reject;
      promise.then(
        (value) => {
          this.#rejectWait = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#rejectWait = undefined;
          reject(error);
        },
      );
    });
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wakeAt = performance.now() + ms;
    this.#timer = setTimeout(() => this.#wake(), ms);
  }

  #wake(): void {
    this.#timer = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    if (this.#deadlineAt === Number.POSITIVE_INFINITY) return;
    const left = this.#deadlineAt - performance.now();
    // Timers may fire a little early; only a deadline that has passed counts.
    if (left > 0) {
      this.#schedule(left);
      return;
    }
    const kind = this.#kind;
    this.fired = kind;
    this.#deadlineAt = Number.POSITIVE_INFINITY;
    this.#controller.abort(new DOMException(`The ${kind} timeout of ${this.#budgetMs} ms fired.`, 'TimeoutError'));
    this.#rejectWait?.(new DOMException('timeout', 'TimeoutError'));
    this.#rejectWait = undefined;
  }
}
