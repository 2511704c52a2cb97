/**
 * The codes of the protocol layer with the HTTP status each maps to.
 *
 * @module
 */

/** The codes of the protocol layer with their HTTP status. */
export const PROTOCOL_ERROR_CODES = {
  /** A stream that had to be read whole (a non-streaming completion) ended without `finish`, `error` or `abort`. */
  incomplete_stream: 502,
  /** The generation was stopped (an `abort` event) before a non-streaming answer was complete. */
  aborted: 503,
} as const;

/** A protocol error code. */
export type ProtocolErrorCode = keyof typeof PROTOCOL_ERROR_CODES;
