/**
 * Contract types of the SSE parser and client.
 *
 * @module
 */
import type { SseParseError } from './errors.ts';

/**
 * One dispatched server-sent event, as a browser's `EventSource` would hand it to a listener.
 */
export interface SseEvent {
  /** The event type: the last `event:` field of the block, or `'message'` when none was given. */
  event: string;
  /** The data: the block's `data:` lines joined with LF (`''` for a single empty `data:` line). */
  data: string;
  /**
   * The last event ID, as `MessageEvent.lastEventId` reports it: the last `id:` field seen in this
   * or an earlier block (IDs persist across events), `''` while the server has sent none.
   */
  id: string;
}

/** Callbacks of {@link createParser}. */
export interface ParserCallbacks {
  /**
   * Called for each dispatched event, in stream order.
   * @param event - the event
   */
  onEvent?: ((event: SseEvent) => void) | undefined;
  /**
   * Called when the server sets the reconnection time with a valid `retry:` field.
   * @param retry - milliseconds to wait before reconnecting
   */
  onRetry?: ((retry: number) => void) | undefined;
  /**
   * Called for each comment line (`: …`), with the text after the colon and one optional space.
   * @param comment - the comment text
   */
  onComment?: ((comment: string) => void) | undefined;
  /**
   * Called for lines the spec says to ignore (an unknown field or an invalid `retry:` value; parsing
   * goes on), and when a line or an event's data grows past `maxBufferSize` (type
   * `'max-buffer-size-exceeded'`; the parser then stops, see {@link ParserOptions.maxBufferSize}).
   * @param error - what was ignored and why
   */
  onError?: ((error: SseParseError) => void) | undefined;
}

/** Options of {@link createParser}. */
export interface ParserOptions extends ParserCallbacks {
  /**
   * The last event ID to start from (for example the one a previous connection ended with); events
   * report it until the server sends an `id:` field.
   * @defaultValue `''`
   */
  lastEventId?: string | undefined;
  /**
   * The most characters the parser holds for one line, or for the data of one event (its `data`
   * lines joined with LF). A longer line or data, however the input is split into reads, is an
   * {@link SseParseError} of type `'max-buffer-size-exceeded'`: what was buffered is dropped, the
   * error goes to `onError`, or is thrown from `feed` when there is no `onError`, and the parser
   * stops — `feed` then throws until `reset()` or `end()` (as eventsource-parser's `maxBufferSize`).
   * Events before the long line are dispatched as usual. At most about twice this many characters
   * are buffered (one partial line plus one event's data). `fetchEventStream` sets 16 MiB.
   * @defaultValue `Infinity` (no limit: a parser fed by an untrusted server should set one)
   */
  maxBufferSize?: number | undefined;
}

/** A push parser for one event stream at a time. */
export interface EventSourceParser {
  /**
   * Feeds the next piece of the stream: bytes (decoded as UTF-8, a sequence split across calls is
   * joined) or already decoded text. Callbacks run synchronously for each complete line.
   * Do not mix bytes and text in one stream.
   * @param chunk - the next read, of any size
   */
  feed(chunk: string | Uint8Array): void;
  /**
   * Ends the stream: a partial line and an event without its closing blank line are discarded,
   * as the spec says. The parser is then ready for a new stream.
   */
  end(): void;
  /**
   * Forgets the current stream (partial line, buffered fields, decoder state, BOM check) to start a
   * new one, for example after reconnecting. The last event ID is kept, as `EventSource` keeps it.
   */
  reset(): void;
  /** The last event ID as of the last dispatched block, `''` while none was set. */
  readonly lastEventId: string;
}
