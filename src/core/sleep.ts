/**
 * An abortable delay.
 *
 * @module
 */

/** The sleeps waiting on one signal, rejected together when it aborts. */
interface Sleepers {
  pending: Set<Sleeper>;
}

interface Sleeper {
  timer: ReturnType<typeof setTimeout>;
  reject: (reason: unknown) => void;
}

// One 'abort' listener per signal, not one added and removed per call: a stream that sleeps
// between thousands of events would otherwise pay EventTarget's listener bookkeeping each time.
// The listener stays on the signal for its life (it is collected with it).
const sleepersOf = new WeakMap<AbortSignal, Sleepers>();

function sleepersFor(signal: AbortSignal): Sleepers {
  let sleepers = sleepersOf.get(signal);
  if (sleepers === undefined) {
    const created: Sleepers = { pending: new Set() };
    sleepers = created;
    sleepersOf.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        for (const sleeper of created.pending) {
          clearTimeout(sleeper.timer);
          sleeper.reject(signal.reason);
        }
        created.pending.clear();
      },
      { once: true },
    );
  }
  return sleepers;
}

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` as soon as `signal` aborts.
 * @param ms - how long to wait
 * @param signal - stops the wait early
 * @returns a promise that resolves after `ms`
 * @example
 * ```ts
 * async function* numbers(signal: AbortSignal) {
 *   for (let i = 0; ; i++) { yield `${i}\n`; await sleep(500, signal); }
 * }
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason);
  const { pending } = sleepersFor(signal);
  return new Promise<void>((resolve, reject) => {
    const sleeper: Sleeper = {
      timer: setTimeout(() => {
        pending.delete(sleeper);
        resolve();
      }, ms),
      reject,
    };
    pending.add(sleeper);
  });
}
