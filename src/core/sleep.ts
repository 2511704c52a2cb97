/**
 * An abortable delay.
 *
 * @module
 */

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
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
