/**
 * JSON errors of the server: `{"error":{"code","message"}}` with the right status.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import { isSluiceError, SluiceError, toErrorResponse } from '../core/errors.ts';
import { isStoreError } from '../store/errors.ts';
import { publicMessageOf } from './public-errors.ts';

/** An error the server answers with its own status and code (400, 404, 413, 415, 429, 503 …). */
export class HttpError extends SluiceError {
  override name = 'HttpError';
  /** Headers the error response carries (`Allow` on a 405, `Connection: close` on a 413). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, options.cause === undefined ? { status } : { status, cause: options.cause });
    this.headers = options.headers ?? {};
  }
}

/** The most characters of a client's input an error message quotes. */
export const MAX_QUOTED_INPUT = 100;

/**
 * Cuts a text that may hold a client's input to {@link MAX_QUOTED_INPUT} characters, with an
 * ellipsis, so a 1 MB model name or header never comes back as a 1 MB error.
 * @param text - the client's input, or a message quoting it
 * @returns the text, at most 100 characters and an ellipsis
 */
export function truncate(text: string): string {
  // Code points, not UTF-16 units, so the cut never leaves half a surrogate pair.
  const head = text.slice(0, MAX_QUOTED_INPUT * 2);
  const points = Array.from(head);
  return points.length > MAX_QUOTED_INPUT || head.length < text.length ? `${points.slice(0, MAX_QUOTED_INPUT).join('')}…` : text;
}

/**
 * Quotes a client's input for an error message: {@link truncate}d, as a JSON string literal.
 * @param value - the client's input
 * @returns the quoted value
 * @example
 * ```ts
 * quote('x'.repeat(1e6)); // '"xxxx…"': the first 100 characters, then an ellipsis
 * ```
 */
export function quote(value: string): string {
  return JSON.stringify(truncate(value));
}

/** Seconds a client waits before retrying a request the store could not take (`Retry-After`). */
export const STORE_RETRY_AFTER_S = 1;

/** The status of a request whose route needs an optional peer dependency that is not installed. */
export const MISSING_DEPENDENCY_STATUS = 501;

/**
 * The answer to a store failure before the first byte, in DESIGN's terms: an unreachable store
 * (Redis down, paused or restarting) is `503 store_unavailable`, a full one `503 store_full`, both
 * with `Retry-After`; an optional peer dependency the request needs and that is not installed
 * (`MissingDependencyError`: the MCP SDK on `/mcp`, `redis` with `REDIS_URL`) is
 * `501 missing_dependency`, its message naming the package and the install command (retrying does
 * not help until someone installs it); any other error is answered as it is.
 * @param error - what was thrown
 * @returns the error to answer with
 */
export function toHttpError(error: unknown): unknown {
  if (isSluiceError(error) && error.code === 'missing_dependency' && !(error instanceof HttpError)) {
    return new HttpError(MISSING_DEPENDENCY_STATUS, 'missing_dependency', error.message, { cause: error });
  }
  if (!isStoreError(error)) return error;
  const retry = { cause: error, headers: { 'retry-after': String(STORE_RETRY_AFTER_S) } };
  if (error.code === 'unavailable') {
    return new HttpError(503, 'store_unavailable', `The stream store is unreachable right now; retry in ${STORE_RETRY_AFTER_S} s. (${error.message})`, retry);
  }
  if (error.code === 'full') return new HttpError(503, 'store_full', `The stream store is full of running streams; retry in ${STORE_RETRY_AFTER_S} s.`, retry);
  return error;
}

/**
 * Sends any error as a JSON error response (when the head was not sent yet). Store failures are
 * mapped by {@link toHttpError}; a model provider's failure gets its public message, never the
 * provider's own text.
 * @param res - the response
 * @param thrown - what was thrown
 */
export function sendError(res: ServerResponse, thrown: unknown): void {
  const error = toHttpError(thrown);
  const { status, body } = toErrorResponse(error);
  // A provider's failure is told in sluice's own words; its detail is for the log (`public-errors.ts`).
  body.error.message = publicMessageOf(error) ?? body.error.message;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = JSON.stringify(body);
  const extra = error instanceof HttpError ? error.headers : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(payload), ...extra });
  res.end(payload);
}

/**
 * Sends a JSON value.
 * @param res - the response
 * @param status - the status
 * @param value - the body
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
