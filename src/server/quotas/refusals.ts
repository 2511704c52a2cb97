/**
 * How a quota or a full store refuses a request: `429 rate_limited` naming the limit, or
 * `503 store_full`, each with `Retry-After`.
 *
 * @module
 */
import { isStoreError } from '../../store/errors.ts';
import { HttpError } from '../http-error.ts';
import { QUOTA_ENV, type LimitName } from './quota-limits.ts';

/** What each limit counts, for refusals: "… for this API key: <what>, at most N …". */
const WHAT: Readonly<Record<LimitName, string>> = {
  streams: 'running generations at once',
  streams_per_minute: 'new generations per minute',
  jobs: 'running jobs at once',
  followers: 'open followers and subscriptions at once',
  publish_per_minute: 'publishes per minute',
  topics: 'topics with a history',
};

/** The `Retry-After` of a concurrency refusal: a slot frees when something running ends, which no one can date. */
export const CONCURRENCY_RETRY_AFTER_S = 5;

/** The 429 of a limit. */
export function rateLimited(limit: LimitName, value: number, subject: string, retryAfterS: number): HttpError {
  const who = subject.startsWith('key:') ? 'this API key' : 'this client address';
  return new HttpError(429, 'rate_limited', `Limit \`${limit}\` reached for ${who}: ${WHAT[limit]}, at most ${value} (${QUOTA_ENV[limit]}); retry after ${retryAfterS} s.`, {
    headers: { 'retry-after': String(retryAfterS) },
  });
}

/** The `Retry-After` of a full store: finished streams are evicted as soon as room is needed. */
export const STORE_FULL_RETRY_AFTER_S = 5;

/**
 * The answer to a store that is full: `503 store_full` with `Retry-After` (the request was
 * refused before anything started; nothing else is failed for it).
 * @param error - what the store threw
 * @returns the HTTP error for a `full` store error, else `error` as it is
 */
export function toStoreRefusal(error: unknown): unknown {
  if (!isStoreError(error) || error.code !== 'full') return error;
  return new HttpError(503, 'store_full', `The stream store is full: ${error.message}`, { cause: error, headers: { 'retry-after': String(STORE_FULL_RETRY_AFTER_S) } });
}
