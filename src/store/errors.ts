/**
 * The errors of the store layer, and their codes with the HTTP status each maps to.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';

/**
 * Every store error code with the HTTP status the server answers when it is thrown before the
 * first byte. After the first byte a read's error becomes an `error` event with the same code.
 */
export const STORE_ERROR_CODES = {
  /** No such stream: never created, expired, or evicted. */
  not_found: 404,
  /** `create()` with an id that is already taken. */
  exists: 409,
  /** The writer lost its lease: another party ended the stream (`producer_lost`) and bumped the fencing token. */
  fenced: 409,
  /** An append after the stream's terminal event. */
  ended: 409,
  /** The backend (Redis) is unreachable or the connection broke mid-operation; retry later. */
  unavailable: 503,
  /** The store has no room: the memory store is at its byte bound with only running streams left to evict, or Redis refuses writes at its `maxmemory` (an `OOM` reply). */
  full: 503,
  /**
   * A read asked for the events after an id the stream's log has not reached (a `Last-Event-ID`
   * from a log that is gone, e.g. a Redis restarted empty or from an older snapshot).
   */
  ahead_of_log: 409,
  /** The events after the requested id were trimmed by the per-stream length cap (Redis `maxLen`). */
  trimmed: 410,
} as const;

/** A store error code. */
export type StoreErrorCode = keyof typeof STORE_ERROR_CODES;

/**
 * An error of the stream store. `code` is one of {@link STORE_ERROR_CODES}, `status` its HTTP status.
 *
 * @example
 * ```ts
 * try { await writer.append(event) } catch (error) {
 *   if (isStoreError(error) && error.code === 'fenced') return; // another party ended the stream
 *   throw error;
 * }
 * ```
 */
export class StoreError extends SluiceError {
  override name = 'StoreError';
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { status: STORE_ERROR_CODES[code], cause: options.cause });
  }
}

/**
 * Whether `value` is a {@link StoreError} (from any installed copy of sluice).
 * @param value - anything caught
 * @returns true for store errors
 */
export function isStoreError(value: unknown): value is StoreError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'StoreError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/**
 * The error of a read after an id the log has not reached: never clamped to the log's end (the
 * events that follow would not be the ones after the client's id).
 */
export function aheadOfLog(id: string, after: number, lastId: number): StoreError {
  return new StoreError(
    'ahead_of_log',
    `Event id ${after} is past the end of stream ${JSON.stringify(id)}, whose log ends at id ${lastId}: the log that id came from is gone (resume from 0 or from an id of this log).`,
  );
}

/** The `error` event's code when a stream's producer lost its lease (it died or stalled). */
export const PRODUCER_LOST = 'producer_lost';

/** The terminal event a follower appends when it takes over a stream whose producer is gone. */
export function producerLostEvent(): { type: 'error'; code: string; message: string; retryable: boolean } {
  return {
    type: 'error',
    code: PRODUCER_LOST,
    message: 'The stream stopped: its producer went away (its lease ran out) before it finished.',
    retryable: true,
  };
}
