/**
 * The SSE parser as a `TransformStream`: bytes or text in, events out.
 *
 * @module
 */
import { createParser } from './parse.ts';
import type { ParserOptions, SseEvent } from './types.ts';

/** Options of {@link SseParserStream}: the parser's options without `onEvent` (events are the stream's output). */
export type SseParserStreamOptions = Omit<ParserOptions, 'onEvent'>;

/**
 * Parses a `text/event-stream` body into {@link SseEvent}s. At the end of the input an
 * unterminated event is discarded, as the spec says.
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
   * @param options - `onRetry`, `onComment`, `onError` and the starting `lastEventId`
   */
  constructor(options: SseParserStreamOptions = {}) {
    let parser: ReturnType<typeof createParser> | undefined;
    super({
      start(controller) {
        parser = createParser({ ...options, onEvent: (event) => controller.enqueue(event) });
      },
      transform(chunk) {
        parser?.feed(chunk);
      },
      flush() {
        parser?.end();
      },
    });
  }
}
