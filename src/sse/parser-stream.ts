/**
 * The SSE parser as a `TransformStream`: bytes or text in, events out.
 *
 * @module
 */
import type { SseParseError } from './errors.ts';
import { createParser } from './parse.ts';
import type { ParserOptions, SseEvent } from './types.ts';

/** Options of {@link SseParserStream}: the parser's options without `onEvent` (events are the stream's output). */
export type SseParserStreamOptions = Omit<ParserOptions, 'onEvent'>;

/**
 * Parses a `text/event-stream` body into {@link SseEvent}s. At the end of the input an
 * unterminated event is discarded, as the spec says. A line or an event's data longer than
 * `maxBufferSize` errors the stream with that {@link SseParseError} (after `onError`, when given).
 * @example
 * ```ts
 * const response = await fetch(url);
 * for await (const event of response.body!.pipeThrough(new SseParserStream())) {
 *   console.log(event.event, event.data);
 * }
 * ```
 */
export class SseParserStream extends TransformStream<string | Uint8Array, SseEvent> {
  /**
   * @param options - `onRetry`, `onComment`, `onError`, the starting `lastEventId` and `maxBufferSize`
   */
  constructor(options: SseParserStreamOptions = {}) {
    let parser: ReturnType<typeof createParser> | undefined;
    let stopped: SseParseError | undefined;
    super({
      start(controller) {
        parser = createParser({
          ...options,
          onEvent: (event) => controller.enqueue(event),
          onError: (error) => {
            options.onError?.(error);
            if (error.type === 'max-buffer-size-exceeded') {
              stopped = error;
              controller.error(error);
            }
          },
        });
      },
      transform(chunk) {
        // The stream is already errored; the parser would only throw that it stopped.
        if (stopped === undefined) parser?.feed(chunk);
      },
      flush() {
        parser?.end();
      },
    });
  }
}
