/**
 * A small unbounded queue between concurrent producers (the tools of one step) and one consumer
 * (the agent loop), read as an async iterable.
 *
 * @module
 */

/** A queue that producers push into and one consumer reads with `for await`. */
export interface EventChannel<T> extends AsyncIterable<T> {
  push(item: T): void;
  /** No more items: the reader ends once the queue is empty. */
  close(): void;
}

/**
 * Creates an {@link EventChannel}. Unbounded on purpose: a tool's updates are few and small, and
 * the loop reads them as fast as the consumer of the agent stream pulls, so a bound would only
 * stall tools behind a slow client without saving memory that matters.
 * @returns the channel
 */
export function createEventChannel<T>(): EventChannel<T> {
  let buffer: T[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  return {
    push(item) {
      buffer.push(item);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (buffer.length > 0) {
          // Swap the buffer rather than shift() item by item: O(1) per item.
          const items = buffer;
          buffer = [];
          yield* items;
          continue;
        }
        if (closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}
