/**
 * The error base class of every layer, and the codes of the core layer.
 *
 * @module
 */

const MARKER = Symbol.for('sluice.error');

/** A JSON error body as every sluice endpoint sends it: `{"error":{"code","message"}}`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Options shared by every {@link SluiceError}. */
export interface SluiceErrorOptions {
  /** The HTTP status the server answers with when this error happens before the first byte. @defaultValue 500 */
  status?: number;
  /** The original error. */
  cause?: unknown;
}

/**
 * Base class of all errors thrown by sluice. Each has a stable `code` and the HTTP `status`
 * the server maps it to, so any error becomes `{"error":{"code","message"}}` without guessing.
 */
export class SluiceError extends Error {
  override name = 'SluiceError';
  readonly code: string;
  readonly status: number;
  readonly [MARKER] = true;

  constructor(code: string, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 500;
  }
}

/**
 * Whether `value` is a sluice error, even one thrown by another installed copy of the package.
 * @param value - anything caught
 * @returns true for instances of {@link SluiceError} from any copy of sluice
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}

/**
 * Whether `value` is an abort (a `DOMException` or `Error` named `AbortError` or `TimeoutError`).
 * Aborts are passed through as they are, never wrapped or reported as failures.
 */
export function isAbortError(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as { name?: unknown }).name === 'AbortError' || (value as { name?: unknown }).name === 'TimeoutError')
  );
}

/** The codes of the core layer with their HTTP status. */
export const CORE_ERROR_CODES = {
  /** The source failed and the error carried no status of its own (other codes come from the error). */
  internal_error: 500,
  /**
   * The stream was stopped from outside (its `signal`) before its head was sent. 499 is nginx's
   * "client closed request", which the text codec also uses for a generation stopped before its
   * first byte; no standard status says "stopped on purpose".
   */
  aborted: 499,
} as const;

/**
 * The text of an abort reason, as `encodeAbort` and the `aborted` error body carry it.
 * @param reason - a signal's `reason`
 * @returns its message when it is an error, else its string form; `'aborted'` when there is none
 */
export function abortReasonText(reason: unknown): string {
  if (reason === undefined || reason === null) return 'aborted';
  if (reason instanceof Error || (typeof reason === 'object' && typeof (reason as { message?: unknown }).message === 'string')) {
    return (reason as { message: string }).message || 'aborted';
  }
  return String(reason);
}

/** The message clients see for an error that is not a {@link SluiceError}, unless `onError` says otherwise. */
export const SAFE_ERROR_MESSAGE = 'The stream failed because of an internal error.';

/**
 * The status an error is answered with: its own when it is an error status (400–599), else 500.
 * A `SluiceError` built with 0, 200 or 304 would otherwise send a success status (or one that
 * forbids a body) for a failure; all such codes map to 500, including upstream-looking ones, since
 * the status was never meant for clients and any guess beyond "internal error" would be one.
 */
function errorStatus(status: number): number {
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

/**
 * Maps any error to the status and JSON body a client sees. The status is always 400–599: an
 * error's `status` outside that range becomes 500.
 * @param error - what was thrown
 * @param onError - turns an unknown error into client-visible text; sluice errors keep their own message
 * @returns the HTTP status and the `{"error":{"code","message"}}` body
 */
export function toErrorResponse(
  error: unknown,
  onError?: (error: unknown) => string | undefined,
): { status: number; body: ErrorBody } {
  if (isSluiceError(error)) {
    return { status: errorStatus(error.status), body: { error: { code: error.code, message: error.message } } };
  }
  const message = onError?.(error) ?? SAFE_ERROR_MESSAGE;
  return { status: 500, body: { error: { code: 'internal_error', message } } };
}

const ERROR_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

/**
 * The headers of a JSON error response sent instead of a stream: the caller's own headers (CORS,
 * `x-stream-id`, …) kept, except the ones that describe the body, which the error sets
 * (`content-type`, `content-length`, `content-encoding`); `cache-control: no-store` so that no
 * cache keeps the error.
 * @param headers - the caller's headers, names in lower case
 * @returns a new object
 */
export function errorResponseHeaders(headers?: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers !== undefined) {
    for (const name of Object.keys(headers)) {
      if (name !== 'content-length' && name !== 'content-encoding') out[name] = headers[name] as string;
    }
  }
  return Object.assign(out, ERROR_HEADERS);
}
