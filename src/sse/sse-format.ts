/**
 * The SSE format for streaming responses.
 *
 * @module
 */
import type { Format } from '../core/types.ts';
import { encodeSse, KEEP_ALIVE_COMMENT, type SseMessage } from './encode.ts';

/** The headers of an SSE response besides the ones every stream gets. */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** Options of {@link sse}. */
export interface SseFormatOptions {
  /** The comment sent while idle. @defaultValue `': ping\n\n'` */
  heartbeat?: string;
  /** The event type of the in-band error sent after the first byte. @defaultValue `'error'` */
  errorEvent?: string;
}

const DEFAULT_SSE: Format<SseMessage | string> = Object.freeze({
  contentType: SSE_CONTENT_TYPE,
  heartbeat: KEEP_ALIVE_COMMENT,
  encode: encodeSse,
  encodeError: (error: { code: string; message: string }) => encodeSse({ event: 'error', data: error }),
});

/**
 * Server-sent events: each item is an {@link SseMessage} (or a string, sent as `data`). An error
 * after the first byte becomes `event: error` with `data: {"code","message"}`, then a clean close.
 * @example
 * ```ts
 * await streamingResponse(events(), { format: sse() })
 * ```
 */
export function sse(options: SseFormatOptions = {}): Format<SseMessage | string> {
  const errorEvent = options.errorEvent ?? 'error';
  const heartbeat = options.heartbeat ?? KEEP_ALIVE_COMMENT;
  // The default format is one frozen object shared by every call: a server that writes
  // `{ format: sse() }` per request does not keep a format (and its closure) per connection.
  if (errorEvent === 'error' && heartbeat === KEEP_ALIVE_COMMENT) return DEFAULT_SSE;
  // Encode once now: an `errorEvent` with a line break throws here, at the call, not mid-stream.
  encodeSse({ event: errorEvent });
  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat,
    encode: encodeSse,
    encodeError: (error) => encodeSse({ event: errorEvent, data: error }),
  };
}
