/**
 * Retry timing: exponential backoff with jitter, and the provider's own `Retry-After`.
 *
 * @module
 */

/** How a provider call retries before the first event. */
export interface RetryOptions {
  /** Retries after the first attempt (0 turns retrying off). @defaultValue 2 */
  maxRetries?: number;
  /** Backoff before the first retry; doubles on each next one. @defaultValue 500 */
  initialRetryDelayMs?: number;
  /** Longest backoff between two attempts. @defaultValue 8000 */
  maxRetryDelayMs?: number;
  /**
   * The longest `Retry-After` honoured; when the provider asks for more, the error is thrown at
   * once rather than holding the client. @defaultValue 60000
   */
  maxRetryAfterMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = {
  maxRetries: 2,
  initialRetryDelayMs: 500,
  maxRetryDelayMs: 8000,
  maxRetryAfterMs: 60_000,
};

/**
 * Reads how long the provider asks us to wait: `retry-after-ms` (OpenAI, milliseconds), then
 * `retry-after` (seconds or an HTTP date).
 * @see https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 * @param headers - the response headers
 * @param now - the current time, for HTTP dates
 * @returns milliseconds to wait, or undefined when the headers say nothing usable
 */
export function parseRetryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get('retry-after');
  if (after === null) return undefined;
  const trimmed = after.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number.parseFloat(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before retry number `retry` (0 for the first retry).
 * @param retry - how many retries were already made
 * @param options - the retry options
 * @param retryAfterMs - what the provider asked for, if anything
 * @param random - a source of randomness in [0, 1), for tests
 * @returns milliseconds to wait, or undefined when the provider asks for longer than `maxRetryAfterMs`
 */
export function retryDelayMs(
  retry: number,
  options: ResolvedRetryOptions,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs <= options.maxRetryAfterMs ? retryAfterMs : undefined;
  const backoff = Math.min(options.maxRetryDelayMs, options.initialRetryDelayMs * 2 ** retry);
  // Up to 25% less than the backoff, so clients that failed together do not retry together.
  return backoff * (1 - random() * 0.25);
}
