/**
 * Contract types of the core layer: sources, formats and stream options.
 *
 * @module
 */

/** A source of items that is not a function: anything sluice can pull from. */
export type SourceValue<T> =
  | Iterable<T>
  | AsyncIterable<T>
  | ReadableStream<T>
  | PromiseLike<Iterable<T> | AsyncIterable<T> | ReadableStream<T>>;

/**
 * What a streaming response reads from: any `Iterable`, `AsyncIterable`, (async) generator,
 * `ReadableStream` or Node `Readable` (which is an `AsyncIterable`), or a function that receives
 * the stream's `AbortSignal` and returns one of those (or a promise of one).
 */
export type Source<T> = SourceValue<T> | ((signal: AbortSignal) => SourceValue<T>);

/** How the items of a stream become bytes, and what the response says about them. */
export interface Format<T> {
  /** The `Content-Type` header value. */
  readonly contentType: string;
  /** Extra response headers of this format (anti-buffering headers are added for every format). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Encodes one item. Strings are UTF-8 encoded when written. */
  encode(item: T): string | Uint8Array;
  /** Bytes sent while the stream is idle, or undefined when the format has no way to send them. */
  readonly heartbeat?: string;
  /**
   * Encodes an error that happened after the first byte, as the format's in-band error signal.
   * Without it, such an error aborts the transfer (the client sees an incomplete body, never a
   * silently truncated success).
   */
  encodeError?(error: { code: string; message: string }): string;
  /**
   * Encodes the in-band signal of a stream stopped from outside (its `signal`); without it such a
   * stream ends as an aborted transfer.
   */
  encodeAbort?(reason: string): string | Uint8Array;
}

/** Options of a streaming response, for the Web and the Node paths alike. */
export interface StreamOptions<T> {
  /** How items become bytes. @defaultValue `text()` */
  format?: Format<T>;
  /** The status of a successful response. @defaultValue 200 */
  status?: number;
  /** Extra response headers. */
  headers?: Readonly<Record<string, string>>;
  /** Milliseconds of idleness before a heartbeat is sent (if the format has one); 0 turns them off. @defaultValue 15000 */
  heartbeatMs?: number;
  /**
   * The head (status and headers) is held until the first item is ready, so that an error before
   * the first byte can still become a real HTTP error. After this many milliseconds without an
   * item the head is sent anyway, followed at once by a heartbeat. @defaultValue 10000
   */
  holdHeadersMs?: number;
  /** UTF-8 bytes gathered from items that are ready at once before they are written together. @defaultValue 16384 */
  maxBatchBytes?: number;
  /**
   * Milliseconds a write may wait for the client to take it (Node's `drain`, a Web body's pull).
   * A write that cannot drain within it (a half-open socket, a client that stopped reading) ends
   * the connection as a disconnect: the source's signal aborts, its iterator's `return()` runs
   * (so `finally` blocks run), the connection is closed, and the outcome is `'disconnected'`.
   * Off by default in the library (0 or undefined); the reference server sets 30000.
   * @defaultValue undefined (no send timeout)
   */
  sendTimeoutMs?: number;
  /**
   * Stops the stream from outside (a stop button, a shutdown): the source's signal aborts and its
   * iterator's `return()` runs. A stopped stream never ends as a clean success: after the head it
   * ends with the format's {@link Format.encodeAbort} signal, or as an aborted transfer when the
   * format has none; before the source's first item (the head not sent) it is answered `499` with
   * `{"error":{"code":"aborted"}}`; once an item is ready (encoded to at least one byte), the items go
   * out first, then the signal.
   * The result's `outcome` is `'aborted'`.
   */
  signal?: AbortSignal;
  /**
   * Turns an error that is not a sluice error into the message clients see.
   * @defaultValue a safe generic message
   */
  onError?: (error: unknown) => string | undefined;
}

/** How a stream ended. */
export type StreamOutcome = 'completed' | 'errored' | 'disconnected' | 'aborted';

/** What a stream did, resolved when it is over. */
export interface StreamResult {
  outcome: StreamOutcome;
  /** Items pulled from the source. */
  items: number;
  /** Bytes of body written (UTF-8 bytes of string chunks), heartbeats and in-band error signals included. */
  bytes: number;
  /** The error that ended the stream, when `outcome` is `errored`. */
  error?: unknown;
}
