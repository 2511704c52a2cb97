/**
 * The errors of the SSE layer, and their codes with the HTTP status each maps to.
 *
 * @module
 */
import { SluiceError } from '../core/errors.ts';

/** The codes of the SSE layer with their HTTP status. */
export const SSE_ERROR_CODES = {
  /**
   * A line the parser ignored (reported to `onError`, never thrown), or a line or event over the
   * parser's `maxBufferSize` (reported to `onError`, else thrown; `fetchEventStream` throws it).
   */
  sse_parse_error: 400,
  /** The server answered an event-stream request with an HTTP error status. */
  sse_http_error: 502,
  /** The server answered with something that is not `text/event-stream`. */
  sse_content_type: 502,
  /** The connection dropped and could not be resumed. */
  sse_connection_lost: 502,
} as const;

/**
 * What {@link SseParseError} reports: a line the parser ignored (`unknown-field`, `invalid-retry`),
 * or input over its `maxBufferSize`, after which it stopped (`max-buffer-size-exceeded`).
 */
export type SseParseErrorType = 'unknown-field' | 'invalid-retry' | 'max-buffer-size-exceeded';

/** The sizes a `max-buffer-size-exceeded` error reports. */
interface BufferSizes {
  size: number;
  maxBufferSize: number;
}

/**
 * A line the parser ignored, as the spec says to (an unknown field, or a `retry:` value that is not
 * all ASCII digits), or a line or an event's data longer than the parser's `maxBufferSize`.
 */
export class SseParseError extends SluiceError {
  override name = 'SseParseError';
  /** What happened. */
  readonly type: SseParseErrorType;
  /** The field name of the line (`''` for `max-buffer-size-exceeded`). */
  readonly field: string;
  /** The field value of the line (`''` for `max-buffer-size-exceeded`). */
  readonly value: string;
  /** The whole line (`''` for `max-buffer-size-exceeded`: it is not kept). */
  readonly line: string;
  /** For `max-buffer-size-exceeded`: the characters buffered when the limit was crossed (a line so far, or an event's data). */
  readonly size: number | undefined;
  /** For `max-buffer-size-exceeded`: the limit. */
  readonly maxBufferSize: number | undefined;
  constructor(type: SseParseErrorType, field: string, value: string, line: string, sizes?: BufferSizes) {
    const shown = field.length > 20 ? field.slice(0, 20) + '…' : field;
    super(
      'sse_parse_error',
      type === 'max-buffer-size-exceeded'
        ? `The SSE stream sent a line or an event's data longer than maxBufferSize (${sizes?.maxBufferSize} characters): ${sizes?.size} characters buffered, and the parser stopped. Raise \`maxBufferSize\` if the server is expected to send events this large.`
        : type === 'invalid-retry'
          ? `Ignored the SSE field \`retry: ${value}\`: expected only ASCII digits (milliseconds).`
          : `Ignored the unknown SSE field ${JSON.stringify(shown)}. Known fields are event, data, id and retry (field names are case-sensitive).`,
      { status: SSE_ERROR_CODES.sse_parse_error },
    );
    this.type = type;
    this.field = field;
    this.value = value;
    this.line = line;
    this.size = sizes?.size;
    this.maxBufferSize = sizes?.maxBufferSize;
  }
}

/** Options shared by the client's errors. */
interface RequestInfo {
  method: string;
  url: string;
  cause?: unknown;
}

/** The server answered an event-stream request with an HTTP error status. `status` is the response's. */
export class SseHttpError extends SluiceError {
  override name = 'SseHttpError';
  /** The request method. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
  /** The response status text. */
  readonly statusText: string;
  constructor(status: number, statusText: string, request: RequestInfo) {
    const reason = statusText === '' ? String(status) : `${status} ${statusText}`;
    super('sse_http_error', `Request failed with status code ${reason}: ${request.method} ${request.url}`, {
      status,
      cause: request.cause,
    });
    this.method = request.method;
    this.url = request.url;
    this.statusText = statusText;
  }
}

/** The server answered with a content type other than `text/event-stream`. `status` is the response's. */
export class SseContentTypeError extends SluiceError {
  override name = 'SseContentTypeError';
  /** The request method. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
  /** The `Content-Type` the server sent (`''` when none). */
  readonly contentType: string;
  constructor(status: number, contentType: string, request: RequestInfo) {
    super(
      'sse_content_type',
      `Expected \`Content-Type: text/event-stream\` from ${request.method} ${request.url}, got ${contentType === '' ? 'no content type' : `\`${contentType}\``}. Is this URL an SSE endpoint?`,
      { status },
    );
    this.method = request.method;
    this.url = request.url;
    this.contentType = contentType;
  }
}

/** The connection dropped mid-stream and could not be resumed; the original error is `cause`. */
export class SseConnectionError extends SluiceError {
  override name = 'SseConnectionError';
  /** The request method. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
  constructor(reason: string, request: RequestInfo) {
    super('sse_connection_lost', `The event stream from ${request.method} ${request.url} was interrupted: ${reason}`, {
      status: SSE_ERROR_CODES.sse_connection_lost,
      cause: request.cause,
    });
    this.method = request.method;
    this.url = request.url;
  }
}
