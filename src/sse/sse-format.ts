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
  // Encode once now: an `errorEvent` with a line break throws here, at the call, not mid-stream.
  encodeSse({ event: errorEvent });
  return {
    contentType: SSE_CONTENT_TYPE,
    heartbeat: options.heartbeat ?? KEEP_ALIVE_COMMENT,
    encode: encodeSse,
    encodeError: (error) => encodeSse({ event: errorEvent, data: error }),
  };
}
