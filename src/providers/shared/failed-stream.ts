/**
 * A stream that fails on its first read.
 *
 * @module
 */
import type { AgentEvent } from '../../protocol/types.ts';

/**
 * An event stream whose first `next()` rejects with `error`: configuration errors surface where
 * every other pre-stream failure does, before any byte is sent upstream.
 * @param error - what to throw
 * @returns the stream
 */
export function failedStream(error: Error): AsyncIterable<AgentEvent> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(error),
      return: () => Promise.resolve({ done: true, value: undefined }),
    }),
  };
}
